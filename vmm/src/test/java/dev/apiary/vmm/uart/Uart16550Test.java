package dev.apiary.vmm.uart;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.pci.RecordingInterruptLine;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The UART driven through the port bus the way Linux's 8250 driver and a polled boot loader drive it. */
class Uart16550Test {
    private static final int BASE = 0x3F8;

    private final Bus ports = new Bus("ports");
    private final RecordingInterruptLine irq = new RecordingInterruptLine();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private Uart16550 uart;

    @BeforeEach
    void setUp() {
        uart = new Uart16550(ComPort.COM1, irq, out::write);
        uart.attach(ports);
    }

    private int in(int reg) {
        return (int) ports.read(BASE + reg, 1);
    }

    private void outb(int reg, int value) {
        ports.write(BASE + reg, 1, value);
    }

    /** serial8250_do_startup()/set_termios() for a 16550A at 115200 8N1. */
    private void linuxInit() {
        outb(UartRegs.LCR, 0x80);
        outb(UartRegs.DLL, 1);
        outb(UartRegs.DLM, 0);
        outb(UartRegs.LCR, 0x03);
        outb(UartRegs.FCR, 0x07); // enable + clear both FIFOs
        outb(UartRegs.FCR, 0x81); // UART_FCR_R_TRIG_10: trigger level 8
        outb(UartRegs.MCR, 0x0B); // DTR | RTS | OUT2
        outb(UartRegs.IER, 0x05); // RDI | RLSI
    }

    private byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void identity() {
        assertEquals("lpc-uart-com1", uart.name());
        assertEquals(0x3F8, ComPort.COM1.base());
        assertEquals(4, ComPort.COM1.irq());
        assertEquals(3, ComPort.COM2.irq());
        assertEquals(0x3E8, ComPort.COM3.base());
        assertEquals(0x2E8, ComPort.COM4.base());
        assertEquals("lpc-uart-com4", ComPort.COM4.inventoryName());
    }

    @Test
    void powerOnState() {
        assertEquals(0x01, in(UartRegs.IIR));
        assertEquals(0x60, in(UartRegs.LSR));
        assertEquals(0xB0, in(UartRegs.MSR), "DCD, DSR, CTS asserted");
        assertEquals(0, in(UartRegs.IER));
        assertFalse(irq.level());
    }

    @Test
    void linuxAutoconfigProbes() {
        // Scratch register test.
        outb(UartRegs.SCR, 0xA5);
        assertEquals(0xA5, in(UartRegs.SCR));
        // IER test: the top four bits read 0.
        outb(UartRegs.IER, 0xFF);
        assertEquals(0x0F, in(UartRegs.IER));
        outb(UartRegs.IER, 0);
        // FIFO test: IIR bits 7:6 = 11 means 16550A; bit 5 = 0 rules out a 16750.
        outb(UartRegs.FCR, 0x01 | 0x20);
        assertEquals(0xC0, in(UartRegs.IIR) & 0xE0);
        // EFR probe with LCR = 0xBF reads IIR, which is not 0: no EFR.
        outb(UartRegs.LCR, 0xBF);
        assertTrue(in(UartRegs.IIR) != 0);
        outb(UartRegs.LCR, 0);
        // Loopback test: MCR = LOOP | 0x0A gives CTS and DCD.
        outb(UartRegs.MCR, 0x1A);
        assertEquals(0x90, in(UartRegs.MSR) & 0xF0);
        outb(UartRegs.MCR, 0);
    }

    @Test
    void divisorLatch() {
        outb(UartRegs.IER, 0x05);
        outb(UartRegs.LCR, 0x83);
        outb(UartRegs.DLL, 0x0C);
        outb(UartRegs.DLM, 0x00);
        assertEquals(0x0C, in(UartRegs.DLL));
        assertEquals(0x00, in(UartRegs.DLM));
        assertEquals(9600, uart.baud());
        outb(UartRegs.LCR, 0x03);
        assertEquals(0x05, in(UartRegs.IER), "DLAB off: offset 1 is IER again");
        assertEquals(0x03, in(UartRegs.LCR));
        assertEquals(0, out.size(), "divisor writes are not transmitted");
    }

    @Test
    void polledTransmit() {
        for (byte b : bytes("KIT ok\n")) {
            while ((in(UartRegs.LSR) & UartRegs.LSR_THRE) == 0) {
                // a polled driver spins here; never needed: transmission is immediate
            }
            outb(UartRegs.THR, b);
        }
        assertEquals("KIT ok\n", out.toString(StandardCharsets.US_ASCII));
        assertEquals(0x60, in(UartRegs.LSR));
        assertFalse(irq.level(), "no interrupts enabled");
    }

    @Test
    void polledReceiveWithoutFifo() {
        assertEquals(1, uart.receive(bytes("xy")), "one-byte holding register");
        assertEquals(0x61, in(UartRegs.LSR));
        assertEquals('x', in(UartRegs.RBR));
        assertEquals(0x60, in(UartRegs.LSR));
        assertEquals(1, uart.receive(bytes("y")));
        assertEquals('y', in(UartRegs.RBR));
    }

    @Test
    void receiveWithFifoAndTriggerLevel() {
        linuxInit();
        assertFalse(irq.level());
        assertEquals(3, uart.receive(bytes("abc")));
        assertTrue(irq.level());
        assertEquals(0xCC, in(UartRegs.IIR), "below the trigger level: character timeout");
        assertEquals(5, uart.receive(bytes("defgh")));
        assertEquals(0xC4, in(UartRegs.IIR), "at the trigger level: received data available");
        StringBuilder got = new StringBuilder();
        while ((in(UartRegs.LSR) & UartRegs.LSR_DR) != 0) {
            got.append((char) in(UartRegs.RBR));
        }
        assertEquals("abcdefgh", got.toString());
        assertEquals(0xC1, in(UartRegs.IIR));
        assertFalse(irq.level());
    }

    @Test
    void triggerLevels() {
        int[][] cases = {{0x01, 1}, {0x41, 4}, {0x81, 8}, {0xC1, 14}};
        for (int[] c : cases) {
            uart.reset();
            outb(UartRegs.FCR, c[0]);
            outb(UartRegs.IER, UartRegs.IER_ERBFI);
            uart.receive(new byte[c[1] - 1]);
            assertEquals(c[1] == 1 ? 0xC1 : 0xCC, in(UartRegs.IIR), "trigger " + c[1]);
            uart.receive(new byte[1]);
            assertEquals(0xC4, in(UartRegs.IIR), "trigger " + c[1]);
        }
    }

    @Test
    void backpressureAndDrainNotification() {
        linuxInit();
        AtomicInteger told = new AtomicInteger();
        uart.setReceiveSpaceListener(told::incrementAndGet);
        byte[] input = new byte[20];
        for (int i = 0; i < input.length; i++) {
            input[i] = (byte) i;
        }
        int accepted = uart.receive(input);
        assertEquals(16, accepted);
        assertEquals(0, uart.receive(input, 16, 4));
        assertEquals(0, told.get());
        assertEquals(0, in(UartRegs.RBR));
        assertEquals(1, told.get(), "one byte of room: the console is told");
        assertEquals(1, uart.receive(input, 16, 4));
        assertEquals(0, in(UartRegs.LSR) & UartRegs.LSR_OE, "the console never overruns");
        StringBuilder got = new StringBuilder();
        while ((in(UartRegs.LSR) & UartRegs.LSR_DR) != 0) {
            got.append(in(UartRegs.RBR)).append(',');
        }
        assertEquals("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,", got.toString());
        assertEquals(2, told.get());
    }

    @Test
    void threInterruptClearedByIirAndRearmed() {
        linuxInit();
        outb(UartRegs.IER, 0x07); // + THRI, as serial8250_start_tx does
        assertTrue(irq.level());
        assertEquals(0xC2, in(UartRegs.IIR));
        assertFalse(irq.level(), "reading IIR while THRE is the source clears it");
        assertEquals(0xC1, in(UartRegs.IIR));
        outb(UartRegs.THR, 'a');
        assertTrue(irq.level(), "THR emptied again");
        outb(UartRegs.THR, 'b'); // writing THR clears and (being immediate) re-raises it
        assertEquals(0xC2, in(UartRegs.IIR));
        assertEquals("ab", out.toString(StandardCharsets.US_ASCII));

        // Linux's THRE test in serial8250_do_startup: IER=THRI, read IIR, IER=0, IER=THRI, read IIR.
        outb(UartRegs.IER, UartRegs.IER_ETBEI);
        in(UartRegs.IIR);
        outb(UartRegs.IER, 0);
        assertFalse(irq.level());
        outb(UartRegs.IER, UartRegs.IER_ETBEI);
        assertEquals(0xC2, in(UartRegs.IIR), "a working UART re-asserts THRE (no UART_BUG_THRE)");
    }

    @Test
    void interruptPrioritiesInIir() {
        outb(UartRegs.FCR, 0x01);
        outb(UartRegs.MCR, UartRegs.MCR_LOOP);
        for (int i = 0; i < 17; i++) {
            outb(UartRegs.THR, 'A' + i); // the 17th overruns
        }
        outb(UartRegs.MCR, UartRegs.MCR_LOOP | UartRegs.MCR_RTS); // CTS changes: a modem status delta
        outb(UartRegs.IER, 0x0F);
        assertEquals(0xC6, in(UartRegs.IIR), "line status first");
        assertEquals(0x63, in(UartRegs.LSR), "DR | OE | THRE | TEMT; reading clears OE");
        assertEquals(0xC4, in(UartRegs.IIR), "then received data");
        for (int i = 0; i < 16; i++) {
            assertEquals('A' + i, in(UartRegs.RBR));
        }
        assertEquals(0xC2, in(UartRegs.IIR), "then THR empty (cleared by this read)");
        assertEquals(0xC0, in(UartRegs.IIR), "then modem status");
        int msr = in(UartRegs.MSR);
        assertEquals(UartRegs.MSR_CTS | UartRegs.MSR_DCTS, msr & (UartRegs.MSR_CTS | UartRegs.MSR_DCTS));
        assertEquals(0, in(UartRegs.MSR) & UartRegs.MSR_DELTAS, "deltas clear when MSR is read");
        assertEquals(0xC1, in(UartRegs.IIR));
    }

    @Test
    void out2GatesTheIrq() {
        outb(UartRegs.IER, UartRegs.IER_ERBFI);
        uart.receive(bytes("z"));
        assertEquals(0x04, in(UartRegs.IIR), "pending, FIFOs off");
        assertFalse(irq.level(), "OUT2 clear: the PC's IRQ buffer is off");
        outb(UartRegs.MCR, UartRegs.MCR_OUT2);
        assertTrue(irq.level());
        outb(UartRegs.MCR, 0);
        assertFalse(irq.level());
        outb(UartRegs.MCR, UartRegs.MCR_OUT2);
        in(UartRegs.RBR);
        assertFalse(irq.level());
    }

    @Test
    void loopbackEchoesAndDisconnectsTheLine() {
        outb(UartRegs.FCR, 0x01);
        outb(UartRegs.MCR, UartRegs.MCR_LOOP | UartRegs.MCR_OUT2 | UartRegs.MCR_DTR);
        outb(UartRegs.THR, 'Q');
        assertEquals(0, out.size(), "nothing reaches the outside in loopback");
        assertEquals(0, uart.receive(bytes("no")), "nor comes in");
        assertEquals(UartRegs.MSR_DCD | UartRegs.MSR_DSR, in(UartRegs.MSR) & 0xF0);
        assertEquals(0x61, in(UartRegs.LSR));
        assertEquals('Q', in(UartRegs.RBR));
        AtomicInteger told = new AtomicInteger();
        uart.setReceiveSpaceListener(told::incrementAndGet);
        outb(UartRegs.MCR, UartRegs.MCR_OUT2);
        assertEquals(1, told.get(), "leaving loopback lets the console in again");
        assertEquals(2, uart.receive(bytes("ok")));
    }

    @Test
    void overrunWithoutFifoOverwrites() {
        outb(UartRegs.MCR, UartRegs.MCR_LOOP);
        outb(UartRegs.THR, '1');
        outb(UartRegs.THR, '2');
        assertEquals(0x63, in(UartRegs.LSR));
        assertEquals(0x61, in(UartRegs.LSR), "OE cleared by the read");
        assertEquals('2', in(UartRegs.RBR));
    }

    @Test
    void fcrClearsReceiveFifo() {
        outb(UartRegs.FCR, 0x01);
        uart.receive(bytes("abc"));
        outb(UartRegs.FCR, 0x03);
        assertEquals(0x60, in(UartRegs.LSR));
        uart.receive(bytes("abc"));
        outb(UartRegs.FCR, 0x00); // disabling the FIFOs clears them too
        assertEquals(0x60, in(UartRegs.LSR));
        assertEquals(0x01, in(UartRegs.IIR));
    }

    @Test
    void resetReturnsToPowerOnAndLowersIrq() {
        linuxInit();
        uart.receive(bytes("abc"));
        assertTrue(irq.level());
        uart.reset();
        assertFalse(irq.level());
        assertEquals(0x60, in(UartRegs.LSR));
        assertEquals(0, in(UartRegs.MCR));
        assertEquals(0x01, in(UartRegs.IIR));
    }

    @Test
    void hostileAccessesNeverThrow() {
        for (int size : new int[] {1, 2, 4}) {
            for (int reg = 0; reg < 8; reg++) {
                for (long v : new long[] {0, 0xFF, -1L, 0x1234_5678L}) {
                    ports.write(BASE + reg, size, v);
                    ports.read(BASE + reg, size);
                }
            }
        }
        uart.write(99, 1, 0);
        assertEquals(0xFF, uart.read(-1, 1));
        assertArrayEquals(new byte[0], new byte[uart.receive(new byte[0])]);
    }
}
