package dev.apiary.vmm.uart;

/** The PC's legacy serial ports: I/O base (8 ports each) and ISA IRQ. */
public enum ComPort {
    COM1(0x3F8, 4),
    COM2(0x2F8, 3),
    COM3(0x3E8, 4),
    COM4(0x2E8, 3);

    /** Each UART decodes eight consecutive ports. */
    public static final int PORT_COUNT = 8;

    private final int base;
    private final int irq;

    ComPort(int base, int irq) {
        this.base = base;
        this.irq = irq;
    }

    public int base() {
        return base;
    }

    public int irq() {
        return irq;
    }

    /** {@code lpc-uart-com1} … */
    public String inventoryName() {
        return "lpc-uart-" + name().toLowerCase(java.util.Locale.ROOT);
    }
}
