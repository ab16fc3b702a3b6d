package dev.apiary.vmm.pci;

/**
 * How INTx pins of devices on bus 0 reach the IOAPIC. Like QEMU's pc in APIC mode, the four PIRQ links go
 * to GSIs 16–19, with the usual swizzle over slots. The DSDT's {@code _PRT} is generated from this same
 * function, so the guest's routing table and the VMM's wiring cannot disagree. (PIC-mode routing through
 * the PIIX3 PIRQ registers is not supported: every OS we target uses the IOAPIC.)
 */
public final class PciInterruptRouting {
    public static final int FIRST_GSI = 16;

    private PciInterruptRouting() {}

    /**
     * @param slot device number 0–31
     * @param pin  1 = INTA … 4 = INTD (the Interrupt Pin register's encoding)
     */
    public static int gsi(int slot, int pin) {
        if (slot < 0 || slot > 31 || pin < 1 || pin > 4) {
            throw new IllegalArgumentException("slot " + slot + " pin " + pin);
        }
        return FIRST_GSI + ((slot + pin - 1) & 3);
    }
}
