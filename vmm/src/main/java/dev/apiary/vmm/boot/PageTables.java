package dev.apiary.vmm.boot;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;

/**
 * Identity page tables for the 64-bit entry: the first 4 GiB mapped with 2 MiB pages (one PML4, one PDPT,
 * four page directories), which covers the zero page, the command line, the kernel's {@code init_size} and
 * the initrd wherever the loader puts them in low RAM. The kernel replaces them in its first instructions.
 *
 * <p>Accessed and Dirty are preset: on a host where CPL0 code is emulated, every bit the page walker would
 * otherwise set is an extra emulated write.
 */
public final class PageTables {
    private PageTables() {}

    static final long PRESENT = 1L;
    static final long WRITABLE = 1L << 1;
    static final long ACCESSED = 1L << 5;
    static final long DIRTY = 1L << 6;
    static final long PAGE_SIZE_2M = 1L << 7;
    static final long TABLE = PRESENT | WRITABLE | ACCESSED;
    static final long LEAF_2M = PRESENT | WRITABLE | ACCESSED | DIRTY | PAGE_SIZE_2M;

    /** Bytes mapped: 4 GiB. */
    public static final long MAPPED = BootLayout.PD_COUNT * 512L * (2L << 20);

    /** Writes the tables and returns the CR3 value. */
    static long write(GuestMemory mem) throws GuestMemoryException {
        mem.fill(BootLayout.PML4, BootLayout.PAGE_TABLES_END - BootLayout.PML4, (byte) 0);
        mem.write64(BootLayout.PML4, BootLayout.PDPT | TABLE);
        for (int i = 0; i < BootLayout.PD_COUNT; i++) {
            long pd = BootLayout.PD + 0x1000L * i;
            mem.write64(BootLayout.PDPT + 8L * i, pd | TABLE);
            for (int j = 0; j < 512; j++) {
                long address = ((long) i * 512 + j) << 21;
                mem.write64(pd + 8L * j, address | LEAF_2M);
            }
        }
        return BootLayout.PML4;
    }
}
