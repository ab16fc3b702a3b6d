package dev.apiary.vmm.uart;

import static dev.apiary.vmm.uart.UartRegs.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import java.lang.System.Logger.Level;
import java.util.function.IntConsumer;

/**
 * A 16550A UART (PC16550D datasheet) as a PC wires it: eight byte-wide registers on the port bus, the
 * interrupt output gated by MCR.OUT2 onto an ISA IRQ.
 *
 * <p>What is emulated: all registers including the divisor latch (the rate is kept but has no effect), the
 * 16-byte receive FIFO with its trigger levels, interrupt identification with the datasheet's priorities
 * (line status &gt; received data / character timeout &gt; THR empty &gt; modem status), THRE interrupt
 * semantics as Linux's 8250 driver and Windows expect (cleared by reading IIR while it is the reported
 * source or by writing THR; raised again when THR empties and on every rising edge of IER.ETBEI while THR is
 * empty, as QEMU and Bochs do), loopback (MCR.LOOP: transmitted bytes come back, MSR inputs follow the MCR
 * outputs), overrun, and scratch.
 *
 * <p>Deliberate simplifications: transmission is immediate (THR and the transmitter are empty again by the
 * time the write returns, so LSR.THRE and LSR.TEMT always read 1); there is no line timing, so the
 * character timeout of a FIFO holding fewer bytes than the trigger level elapses at once (IIR reports 0xC,
 * "character timeout", instead of waiting four character times — input arrives in bursts from the console
 * anyway); parity, framing and break are never produced; the modem inputs read DCD, DSR and CTS asserted
 * outside loopback. In loopback the IRQ output is off (the OUT2 pin is forced inactive, which on a PC gates
 * the IRQ).
 *
 * <p>Threads: register accesses (vCPU threads) and {@link #receive} (the console) are serialised on this
 * object. The output sink is called on the vCPU thread, in order, with the lock held: it must not block
 * for long (buffer it). The receive-space listener is called without the lock.
 */
public final class Uart16550 implements Device, IoHandler {
    private static final System.Logger LOG = System.getLogger(Uart16550.class.getName());
    private static final int MODEM_INPUTS_CONNECTED = MSR_DCD | MSR_DSR | MSR_CTS;

    private final String name;
    private final ComPort port;
    private final InterruptLine irq;
    private final IntConsumer output;
    private volatile Runnable receiveSpaceListener = () -> {};

    private final byte[] rxFifo = new byte[FIFO_SIZE];
    private int rxHead;
    private int rxCount;
    private int lastRead;

    private int ier;
    private int lcr;
    private int mcr;
    private int scr;
    private int divisor;
    private boolean fifoEnabled;
    private int rxTrigger;
    private int lineErrors;
    private int msrDeltas;
    private boolean thrInterruptPending;
    private boolean irqLevel;
    private boolean receiverStarved;

    /**
     * @param port   where the UART sits (name, base port, IRQ)
     * @param irq    the ISA IRQ line ({@link ComPort#irq()}), driven high while an enabled interrupt is pending
     *               and MCR.OUT2 is set
     * @param output every transmitted byte (0–255), in order
     */
    public Uart16550(ComPort port, InterruptLine irq, IntConsumer output) {
        this.name = port.inventoryName();
        this.port = port;
        this.irq = irq;
        this.output = output;
        resetRegisters();
    }

    @Override
    public String name() {
        return name;
    }

    public ComPort port() {
        return port;
    }

    /** Maps the eight registers at the port's base on the port bus. */
    public void attach(Bus portBus) {
        portBus.register(port.base(), ComPort.PORT_COUNT, name, this);
    }

    @Override
    public void reset() {
        boolean notify;
        synchronized (this) {
            resetRegisters();
            irqLevel = false;
            irq.set(false);
            notify = takeSpaceNotification();
        }
        fireSpaceListener(notify);
    }

    private void resetRegisters() {
        ier = 0;
        lcr = 0;
        mcr = 0;
        scr = 0;
        divisor = 0x0C; // 9600 baud, as QEMU; firmware and Linux program their own
        fifoEnabled = false;
        rxTrigger = 1;
        rxHead = 0;
        rxCount = 0;
        lastRead = 0;
        lineErrors = 0;
        msrDeltas = 0;
        thrInterruptPending = false;
    }

    // ---- the console side ----

    /**
     * Is told when the receive FIFO has room again after {@link #receive} accepted fewer bytes than offered.
     * Called on a vCPU thread without the UART's lock; it should only wake the caller's input pump.
     */
    public void setReceiveSpaceListener(Runnable listener) {
        this.receiveSpaceListener = listener == null ? () -> {} : listener;
    }

    /**
     * Offers bytes from the outside world (the console) to the receiver. Accepts as many as fit in the
     * receive FIFO (one without FIFOs, none in loopback) and returns that count; offer the rest again after the
     * receive-space listener fires. Never overruns: only guest loopback can.
     */
    public int receive(byte[] data, int offset, int length) {
        synchronized (this) {
            int accepted = 0;
            if ((mcr & MCR_LOOP) == 0) {
                while (accepted < length && rxCount < rxCapacity()) {
                    push(data[offset + accepted]);
                    accepted++;
                }
            }
            receiverStarved = accepted < length;
            if (accepted > 0) {
                updateIrq();
            }
            return accepted;
        }
    }

    public int receive(byte[] data) {
        return receive(data, 0, data.length);
    }

    /** How many bytes {@link #receive} would accept now. */
    public synchronized int receiveSpace() {
        return (mcr & MCR_LOOP) != 0 ? 0 : rxCapacity() - rxCount;
    }

    /** The programmed baud rate (informational). */
    public synchronized int baud() {
        return divisor == 0 ? 0 : BASE_BAUD / divisor;
    }

    // ---- the guest side ----

    @Override
    public long read(long offset, int size) {
        long value;
        boolean notify;
        synchronized (this) {
            value = offset >= 0 && offset < ComPort.PORT_COUNT ? readRegister((int) offset) : 0xFF;
            notify = takeSpaceNotification();
        }
        fireSpaceListener(notify);
        return value;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset < 0 || offset >= ComPort.PORT_COUNT) {
            return;
        }
        boolean notify;
        synchronized (this) {
            writeRegister((int) offset, (int) value & 0xFF);
            notify = takeSpaceNotification();
        }
        fireSpaceListener(notify);
    }

    private int readRegister(int reg) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        int value;
        switch (reg) {
            case RBR -> {
                if (dlab) {
                    return divisor & 0xFF;
                }
                if (rxCount > 0) {
                    lastRead = rxFifo[rxHead] & 0xFF;
                    rxHead = (rxHead + 1) % FIFO_SIZE;
                    rxCount--;
                }
                value = lastRead; // an empty receiver returns the last byte again, as hardware does
            }
            case IER -> {
                return dlab ? divisor >>> 8 : ier;
            }
            case IIR -> {
                int id = pendingInterrupt();
                if (id == IIR_THRE) {
                    thrInterruptPending = false; // §8.5: reading IIR clears THRE when it is the source
                }
                value = id | (fifoEnabled ? IIR_FIFOS_ENABLED : 0);
            }
            case LCR -> {
                return lcr;
            }
            case MCR -> {
                return mcr;
            }
            case LSR -> {
                value = (rxCount > 0 ? LSR_DR : 0) | LSR_THRE | LSR_TEMT | lineErrors;
                lineErrors = 0; // §8.2: OE, PE, FE and BI clear when LSR is read
            }
            case MSR -> {
                value = modemInputs() | msrDeltas;
                msrDeltas = 0;
            }
            default -> {
                return scr;
            }
        }
        updateIrq();
        return value;
    }

    private void writeRegister(int reg, int value) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch (reg) {
            case THR -> {
                if (dlab) {
                    divisor = (divisor & 0xFF00) | value;
                    return;
                }
                transmit(value);
            }
            case IER -> {
                if (dlab) {
                    divisor = (divisor & 0x00FF) | (value << 8);
                    return;
                }
                int changed = (ier ^ value) & IER_MASK;
                ier = value & IER_MASK;
                if ((changed & IER_ETBEI) != 0) {
                    // THR is always empty here, so a rising edge of ETBEI raises THRE (Linux's THRE test at
                    // startup and Windows rely on it); a falling edge forgets it.
                    thrInterruptPending = (ier & IER_ETBEI) != 0;
                }
            }
            case FCR -> writeFcr(value);
            case LCR -> lcr = value;
            case MCR -> {
                int before = modemInputs();
                mcr = value & MCR_MASK;
                int after = modemInputs();
                int changed = before ^ after;
                if ((changed & MSR_CTS) != 0) {
                    msrDeltas |= MSR_DCTS;
                }
                if ((changed & MSR_DSR) != 0) {
                    msrDeltas |= MSR_DDSR;
                }
                if ((changed & MSR_DCD) != 0) {
                    msrDeltas |= MSR_DDCD;
                }
                if ((before & MSR_RI) != 0 && (after & MSR_RI) == 0) {
                    msrDeltas |= MSR_TERI; // trailing edge of ring indicator
                }
            }
            case LSR, MSR -> {
                // Read-only on a 16550A (writes are factory test modes).
            }
            default -> scr = value;
        }
        updateIrq();
    }

    private void writeFcr(int value) {
        boolean enable = (value & FCR_FIFO_ENABLE) != 0;
        if (enable != fifoEnabled) {
            clearRx(); // §8.4: changing FIFO enable clears both FIFOs
        }
        fifoEnabled = enable;
        if (!enable) {
            rxTrigger = 1;
            return; // the other bits only take effect with the FIFOs enabled
        }
        if ((value & FCR_CLEAR_RX) != 0) {
            clearRx();
        }
        // FCR_CLEAR_TX: the transmitter is always empty. FCR_DMA_MODE: no DMA on this bus.
        rxTrigger = RX_TRIGGER_LEVELS[(value >>> FCR_TRIGGER_SHIFT) & 3];
    }

    private void transmit(int b) {
        thrInterruptPending = false;
        if ((mcr & MCR_LOOP) != 0) {
            push((byte) b);
        } else {
            try {
                output.accept(b);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name + ": output sink failed; byte dropped", e);
            }
        }
        thrInterruptPending = true; // sent at once: THR is empty again
    }

    // ---- state ----

    private int rxCapacity() {
        return fifoEnabled ? FIFO_SIZE : 1;
    }

    private void push(byte b) {
        if (rxCount >= rxCapacity()) {
            lineErrors |= LSR_OE;
            if (!fifoEnabled) {
                rxFifo[rxHead] = b; // 8250 mode: the holding register is overwritten
            }
            return; // FIFO mode: the character in the shift register is lost (§8.2, bit 1)
        }
        rxFifo[(rxHead + rxCount) % FIFO_SIZE] = b;
        rxCount++;
    }

    private void clearRx() {
        rxHead = 0;
        rxCount = 0;
    }

    private int modemInputs() {
        if ((mcr & MCR_LOOP) == 0) {
            return MODEM_INPUTS_CONNECTED;
        }
        // §8.7: in loopback DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
        int v = 0;
        v |= (mcr & MCR_RTS) != 0 ? MSR_CTS : 0;
        v |= (mcr & MCR_DTR) != 0 ? MSR_DSR : 0;
        v |= (mcr & MCR_OUT1) != 0 ? MSR_RI : 0;
        v |= (mcr & MCR_OUT2) != 0 ? MSR_DCD : 0;
        return v;
    }

    /** The highest-priority enabled interrupt (datasheet table IV). */
    private int pendingInterrupt() {
        if ((ier & IER_ELSI) != 0 && (lineErrors & LSR_ERRORS) != 0) {
            return IIR_RLS;
        }
        if ((ier & IER_ERBFI) != 0 && rxCount > 0) {
            return !fifoEnabled || rxCount >= rxTrigger ? IIR_RDA : IIR_CTI;
        }
        if ((ier & IER_ETBEI) != 0 && thrInterruptPending) {
            return IIR_THRE;
        }
        if ((ier & IER_EDSSI) != 0 && msrDeltas != 0) {
            return IIR_MSR;
        }
        return IIR_NO_INT;
    }

    private void updateIrq() {
        boolean gateOpen = (mcr & MCR_OUT2) != 0 && (mcr & MCR_LOOP) == 0;
        boolean level = gateOpen && pendingInterrupt() != IIR_NO_INT;
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }

    private boolean takeSpaceNotification() {
        if (receiverStarved && receiveSpace() > 0) {
            receiverStarved = false;
            return true;
        }
        return false;
    }

    private void fireSpaceListener(boolean notify) {
        if (notify) {
            try {
                receiveSpaceListener.run();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name + ": receive-space listener failed", e);
            }
        }
    }
}
