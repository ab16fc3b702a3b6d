package dev.apiary.vmm.chipset;

import static dev.apiary.vmm.chipset.ResetRegs.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.SystemControl;

/**
 * The reset control register at 0xCF9 and System Control Port A at 0x92.
 *
 * <p>0xCF9: a write with RST_CPU (bit 2) set requests a reset, whatever SYS_RST (bit 1) and FULL_RST (bit 3)
 * say — Linux's {@code reboot=pci} writes 0x02 then 0x06, others write 0x06 or 0x0E at once; a VMM has no
 * CPU-only "soft" reset, so every flavour resets the machine (as QEMU). SYS_RST and FULL_RST read back;
 * RST_CPU reads 0. 0x92: a 0→1 transition of bit 0 requests a reset; bit 1 (A20) is remembered, though A20
 * is always enabled under KVM. The 0xCF9 handler is mapped at that single port, next to the PCI
 * CONFIG_ADDRESS handler at 0xCF8.
 */
public final class ResetControl implements Device {
    private final SystemControl system;
    private final IoHandler rcrHandler = new Rcr();
    private final IoHandler portAHandler = new PortA();
    private int rcr;
    private int portA = PORT_A_A20;

    public ResetControl(SystemControl system) {
        this.system = system;
    }

    @Override
    public String name() {
        return "lpc-reset";
    }

    /** Maps port 0xCF9 and port 0x92 (one byte each). */
    public void attach(Bus portBus) {
        portBus.register(RCR_PORT, 1, name() + "-cf9", rcrHandler);
        portBus.register(PORT_A, 1, name() + "-port92", portAHandler);
    }

    public IoHandler rcrHandler() {
        return rcrHandler;
    }

    public IoHandler portAHandler() {
        return portAHandler;
    }

    public synchronized boolean a20Enabled() {
        return (portA & PORT_A_A20) != 0;
    }

    @Override
    public synchronized void reset() {
        rcr = 0;
        portA = PORT_A_A20;
    }

    private final class Rcr implements IoHandler {
        @Override
        public long read(long offset, int size) {
            synchronized (ResetControl.this) {
                return rcr;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            int v = (int) value & 0xFF;
            boolean reset;
            synchronized (ResetControl.this) {
                rcr = v & RCR_STORED;
                reset = (v & RCR_RST_CPU) != 0;
            }
            if (reset) {
                system.requestReset("0xCF9");
            }
        }
    }

    private final class PortA implements IoHandler {
        @Override
        public long read(long offset, int size) {
            synchronized (ResetControl.this) {
                return portA;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            int v = (int) value & 0xFF;
            boolean reset;
            synchronized (ResetControl.this) {
                reset = (v & PORT_A_RESET) != 0 && (portA & PORT_A_RESET) == 0;
                portA = v & (PORT_A_A20 | PORT_A_RESET);
            }
            if (reset) {
                system.requestReset("port 0x92");
            }
        }
    }
}
