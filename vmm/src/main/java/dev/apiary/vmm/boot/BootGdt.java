package dev.apiary.vmm.boot;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;

/**
 * The boot GDT, laid out as Linux's boot protocol expects: {@code __BOOT_CS} = 0x10, {@code __BOOT_DS} =
 * 0x18, both 4 GiB flat. Every descriptor has its Accessed bit already set: a far jump that loads a
 * descriptor with Accessed clear makes the CPU write it back, and on the nested KVM we test on that write
 * hangs the vCPU when the GDT is in read-only memory (shared/ENVIRONMENT.md); setting it costs nothing.
 */
public final class BootGdt {
    private BootGdt() {}

    public static final int CODE_SELECTOR = 0x10;
    public static final int DATA_SELECTOR = 0x18;
    public static final int TSS_SELECTOR = 0x20;

    /** 64-bit code: present, DPL 0, execute/read, accessed; G=1, L=1. */
    public static final long CODE64 = 0x00AF_9B00_0000_FFFFL;
    /** 32-bit code: present, DPL 0, execute/read, accessed; G=1, D=1. */
    public static final long CODE32 = 0x00CF_9B00_0000_FFFFL;
    /** Data: present, DPL 0, read/write, accessed; G=1, B=1. */
    public static final long DATA = 0x00CF_9300_0000_FFFFL;
    /** Access byte of a present, busy 32/64-bit TSS (type 0xB). */
    static final int TSS_ACCESS = 0x8B;

    static long code(EntryMode mode) {
        return mode == EntryMode.LONG_64 ? CODE64 : CODE32;
    }

    static long tssLow() {
        return Segment.descriptor(BootLayout.TSS, BootLayout.TSS_SIZE - 1, TSS_ACCESS, 0);
    }

    /** Upper half of the 16-byte long-mode TSS descriptor: base bits 32–63. */
    static long tssHigh() {
        return BootLayout.TSS >>> 32;
    }

    /** Writes the GDT and a zeroed TSS. */
    static void write(GuestMemory mem, EntryMode mode) throws GuestMemoryException {
        long[] gdt = {0, 0, code(mode), DATA, tssLow(), tssHigh()};
        for (int i = 0; i < gdt.length; i++) {
            mem.write64(BootLayout.GDT + 8L * i, gdt[i]);
        }
        mem.fill(BootLayout.TSS, BootLayout.TSS_SIZE, (byte) 0);
        // I/O map base past the TSS limit: no I/O permission bitmap.
        mem.write16(BootLayout.TSS + 0x66, (short) BootLayout.TSS_SIZE);
    }

    static Segment cs(EntryMode mode) {
        return Segment.fromDescriptor(CODE_SELECTOR, code(mode));
    }

    static Segment ds() {
        return Segment.fromDescriptor(DATA_SELECTOR, DATA);
    }

    static Segment tr() {
        return Segment.fromDescriptor(TSS_SELECTOR, tssLow(), tssHigh());
    }
}
