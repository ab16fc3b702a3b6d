package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.util.OptionalLong;

/**
 * Translates a guest-virtual address through the guest's 4-level page tables (long mode), for reports such
 * as the instruction bytes at a failing RIP. Reads go through bounds-checked guest memory, so hostile page
 * tables can only make the translation fail.
 */
public final class PageWalk {
    private static final long ADDR_MASK = 0x000F_FFFF_FFFF_F000L;
    private static final long PRESENT = 1;
    private static final long PAGE_SIZE_BIT = 1L << 7;

    private PageWalk() {}

    public static OptionalLong translate(GuestMemory mem, long cr3, long va) {
        try {
            long table = cr3 & ADDR_MASK;
            for (int level = 3; level >= 0; level--) {
                int index = (int) ((va >>> (12 + 9 * level)) & 0x1FF);
                long entry = mem.read64(table + index * 8L);
                if ((entry & PRESENT) == 0) {
                    return OptionalLong.empty();
                }
                if (level > 0 && level < 3 && (entry & PAGE_SIZE_BIT) != 0) {
                    long pageMask = (1L << (12 + 9 * level)) - 1;
                    return OptionalLong.of((entry & ADDR_MASK & ~pageMask) | (va & pageMask));
                }
                table = entry & ADDR_MASK;
            }
            return OptionalLong.of(table | (va & 0xFFF));
        } catch (GuestMemoryException e) {
            return OptionalLong.empty();
        }
    }

    /** Up to {@code max} bytes at guest-virtual {@code va} (paging on) or physical (paging off). */
    public static byte[] read(GuestMemory mem, boolean paging, long cr3, long va, int max) {
        byte[] out = new byte[max];
        int n = 0;
        for (; n < max; n++) {
            OptionalLong pa = paging ? translate(mem, cr3, va + n) : OptionalLong.of(va + n);
            if (pa.isEmpty()) {
                break;
            }
            try {
                out[n] = mem.read8(pa.getAsLong());
            } catch (GuestMemoryException e) {
                break;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }
}
