package dev.apiary.vmm.memory;

/**
 * The guest-physical map of a PC (as propolis and QEMU's {@code pc}): RAM from 0 up to 3 GiB, the 32-bit PCI
 * MMIO hole from 3 GiB to 4 GiB (IOAPIC at 0xFEC00000, local APICs at 0xFEE00000, firmware ROM just below
 * 4 GiB), RAM above 4 GiB for the rest, and 64-bit PCI MMIO above that.
 */
public record MemoryLayout(long ramBytes, long lowRamBytes, long highRamBytes) {
    public static final long GiB = 1L << 30;
    public static final long LOW_RAM_LIMIT = 3 * GiB;
    public static final long HIGH_RAM_BASE = 4 * GiB;
    /** 32-bit PCI MMIO window for BARs the firmware or the VMM assigns (below the IOAPIC). */
    public static final long PCI_MMIO32_BASE = 3 * GiB;
    public static final long PCI_MMIO32_END = 0xFEC0_0000L;
    public static final long IOAPIC_BASE = 0xFEC0_0000L;
    public static final long LAPIC_BASE = 0xFEE0_0000L;
    /** 64-bit PCI MMIO window size. */
    public static final long PCI_MMIO64_SIZE = 64 * GiB;

    /** Smallest and largest guest RAM a manifest may ask for. */
    public static final long MIN_RAM = 16L << 20;
    public static final long MAX_RAM = 1L << 40;

    public static MemoryLayout forRam(long ramBytes) {
        if (ramBytes < MIN_RAM || ramBytes > MAX_RAM) {
            throw new IllegalArgumentException("guest RAM must be between 16 MiB and 1 TiB, got " + ramBytes);
        }
        if ((ramBytes & 0xFFF) != 0) {
            throw new IllegalArgumentException("guest RAM must be a multiple of 4 KiB, got " + ramBytes);
        }
        long low = Math.min(ramBytes, LOW_RAM_LIMIT);
        return new MemoryLayout(ramBytes, low, ramBytes - low);
    }

    /** First address above all RAM (also above the 4 GiB boundary when there is no high RAM). */
    public long ramTop() {
        return highRamBytes > 0 ? HIGH_RAM_BASE + highRamBytes : HIGH_RAM_BASE;
    }

    /** Base of the 64-bit PCI MMIO window: the first 1 GiB boundary above RAM. */
    public long pciMmio64Base() {
        return (ramTop() + GiB - 1) & -GiB;
    }

    /** (gpa, size) pairs of the RAM regions. */
    public long[] ramRegions() {
        return highRamBytes > 0 ? new long[] {0, lowRamBytes, HIGH_RAM_BASE, highRamBytes} : new long[] {0, lowRamBytes};
    }
}
