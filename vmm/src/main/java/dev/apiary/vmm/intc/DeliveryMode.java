package dev.apiary.vmm.intc;

/**
 * The delivery modes of an APIC interrupt message (ICR bits 10:8, IOAPIC redirection entry bits 10:8, MSI
 * data bits 10:8; SDM vol. 3 §11.6.1). Encoding 3 is reserved.
 */
public enum DeliveryMode {
    FIXED(0),
    LOWEST_PRIORITY(1),
    SMI(2),
    NMI(4),
    INIT(5),
    STARTUP(6),
    EXTINT(7);

    private static final DeliveryMode[] BY_BITS = new DeliveryMode[8];

    static {
        for (DeliveryMode m : values()) {
            BY_BITS[m.bits] = m;
        }
    }

    private final int bits;

    DeliveryMode(int bits) {
        this.bits = bits;
    }

    public int bits() {
        return bits;
    }

    /** The mode encoded in bits 2:0 of {@code bits}, or null for the reserved encoding. */
    public static DeliveryMode of(int bits) {
        return BY_BITS[bits & 7];
    }
}
