package dev.apiary.vmm.x86;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Linear-to-physical translation (SDM Vol. 3A chapter 4: 32-bit, PAE and 4-level paging with A/D bits, NX, WP,
 * U/S, global, 2 MiB/4 MiB/1 GiB pages), a direct-mapped software TLB keyed by linear page with permission
 * bits, and guest-physical access through the RAM chunks or MMIO.
 *
 * <p>Memory ordering (docs/software-cpu.md): aligned RAM accesses are VarHandle acquire loads and release
 * stores, which x86 HotSpot compiles to plain MOVs but which the JIT may not reorder, so each vCPU's guest
 * accesses stay in program order as TSO requires; misaligned ones are plain accesses fenced the same way.
 */
final class Mmu {
    static final int READ = 0, WRITE = 1, EXEC = 2;
    static final int TLB_SIZE = 1024;
    /**
     * The fast TLB's entry layout (four longs per entry, one array per privilege level): the linear page number
     * when the page may be read, or written, at that level and lies wholly in direct RAM (else -1, which no page
     * number equals); the host address of the page; its physical page number (for the code-page check).
     */
    static final int FAST_READ = 0, FAST_WRITE = 1, FAST_HOST = 2, FAST_PPN = 3;
    private static final int GLOBAL = 1 << 6;
    /** Permission bit: the entry is a 4 KiB piece of a 2 MiB, 4 MiB or 1 GiB page. */
    private static final int LARGE = 1 << 7;
    private static final int LARGE_SIZE = 256;
    static final VarHandle SHORT = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle LONG = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final CpuState s;
    private final X86Platform platform;
    private final ByteBuffer[] chunks;
    private final int[] limits;
    private final GuestFault fault;
    private final long[] tlbTag = new long[TLB_SIZE];
    private final long[] tlbPhys = new long[TLB_SIZE];
    private final int[] tlbPerm = new int[TLB_SIZE];
    /** The RAM chunk holding the entry's whole physical page and the page's offset in it (null: not all RAM). */
    private final ByteBuffer[] tlbRam = new ByteBuffer[TLB_SIZE];
    private final int[] tlbRamOff = new int[TLB_SIZE];
    /**
     * The fast TLB for supervisor and user accesses (layout FAST_*): a hit is one compare of the page number of
     * an access's last byte against the tag at its first byte's index, so a page-crossing access (or a
     * non-canonical address, which no tag holds) always misses. Only pages of direct RAM get tags; MMIO and
     * heap-buffer RAM take the full path.
     */
    final long[] fastSup = new long[TLB_SIZE * 4];
    final long[] fastUser = new long[TLB_SIZE * 4];
    /** Per physical page: nonzero when it holds decoded code (X86Platform.codeMap); every fast store checks it. */
    private final byte[] codeMap;
    /**
     * The 2 MiB pieces of large pages walked recently (tag: linear >>> 21, or -1), so a TLB miss inside a large
     * page (the kernel's direct map, its text, the decompressor's identity map) fills its entry without a walk.
     */
    private final long[] largeTag = new long[LARGE_SIZE];
    private final long[] largePhys = new long[LARGE_SIZE];
    private final int[] largePerm = new int[LARGE_SIZE];
    /** Whether some TLB entry may hold a piece of a large page (INVLPG then drops them all). */
    private boolean largePieces;
    /** Bumped by every flush: the CPU's cached code-page lookup is valid only within one generation. */
    int generation;
    /** Set by every MMIO write; the CPU then asks the local APIC for interrupts again. */
    boolean mmioWritten;
    /** Set by every store into a page holding decoded code: a translated block leaves after such a store. */
    boolean codeWritten;

    Mmu(CpuState s, X86Platform platform, GuestFault fault) {
        this.s = s;
        this.platform = platform;
        this.chunks = platform.chunks;
        this.limits = platform.chunkLimits;
        this.fault = fault;
        this.codeMap = platform.codeMap;
        flush(false);
    }

    void flush(boolean keepGlobal) {
        for (int i = 0; i < TLB_SIZE; i++) {
            if (!keepGlobal || (tlbPerm[i] & GLOBAL) == 0) {
                drop(i);
            }
        }
        for (int j = 0; j < LARGE_SIZE; j++) {
            if (!keepGlobal || (largePerm[j] & GLOBAL) == 0) {
                largeTag[j] = -1;
            }
        }
        largePieces &= keepGlobal;
        generation++;
    }

    private void drop(int i) {
        tlbTag[i] = -1;
        int k = i << 2;
        fastSup[k + FAST_READ] = fastSup[k + FAST_WRITE] = fastUser[k + FAST_READ] = fastUser[k + FAST_WRITE] = -1;
    }

    /**
     * INVLPG drops the translations of the page holding {@code linear} (SDM Vol. 3A 4.10.4.1); when that may be a
     * large page, whose pieces sit in many entries, every piece of every large page goes.
     */
    void invlpg(long linear) {
        drop((int) (linear >>> 12) & (TLB_SIZE - 1));
        if (largePieces) {
            for (int i = 0; i < TLB_SIZE; i++) {
                if ((tlbPerm[i] & LARGE) != 0) {
                    drop(i);
                }
            }
            Arrays.fill(largeTag, -1);
            largePieces = false;
        }
        generation++;
    }

    /** The physical address of {@code linear} for an access of kind {@code acc} at user or supervisor level. */
    long translate(long linear, int acc, boolean user) {
        long lpn = linear >>> 12;
        int i = (int) lpn & (TLB_SIZE - 1);
        if (tlbTag[i] == lpn && (tlbPerm[i] & (1 << (acc * 2 + (user ? 1 : 0)))) != 0) {
            return tlbPhys[i] | (linear & 0xFFF);
        }
        return walk(linear, acc, user);
    }

    private long walk(long linear, int acc, boolean user) {
        long lpn = linear >>> 12;
        int i = (int) lpn & (TLB_SIZE - 1);
        int j = (int) (linear >>> 21) & (LARGE_SIZE - 1);
        if (largeTag[j] == linear >>> 21 && (largePerm[j] & (1 << (acc * 2 + (user ? 1 : 0)))) != 0) {
            long phys = largePhys[j] | (linear & 0x1F_F000L);
            fill(i, lpn, phys, largePerm[j]);
            return phys | (linear & 0xFFF);
        }
        if ((s.cr0 & 0x8000_0000L) == 0) {
            fill(i, lpn, linear & ~0xFFFL, 0x3F);
            return linear;
        }
        boolean write = acc == WRITE;
        boolean nxe = (s.efer & CpuState.EFER_NXE) != 0;
        boolean wp = (s.cr0 & 0x1_0000) != 0;
        boolean userOk = true, writeOk = true, nx = false;
        long table;
        int level;
        boolean pae = (s.cr4 & 0x20) != 0;
        boolean longMode = (s.efer & CpuState.EFER_LMA) != 0;
        long entryAddr;
        long e;
        long pageSize;
        if (!pae) {
            // 32-bit paging: two levels of 4-byte entries, 4 MiB pages with CR4.PSE (SDM Vol. 3A 4.3)
            entryAddr = (s.cr3 & 0xFFFF_F000L) + ((linear >>> 22) & 0x3FF) * 4;
            e = readPhys(entryAddr, 4);
            if ((e & 1) == 0) {
                throw pageFault(linear, acc, user, 0);
            }
            userOk = (e & 4) != 0;
            writeOk = (e & 2) != 0;
            if ((e & 0x80) != 0 && (s.cr4 & 0x10) != 0) {
                pageSize = 4L << 20;
                long pa = (e & 0xFFC0_0000L) | ((e & 0x1_E000L) << 19);
                return finish(linear, acc, user, entryAddr, e, 4, pa, pageSize, userOk, writeOk, false);
            }
            setAccessed(entryAddr, e, 4);
            entryAddr = (e & 0xFFFF_F000L) + ((linear >>> 12) & 0x3FF) * 4;
            e = readPhys(entryAddr, 4);
            if ((e & 1) == 0) {
                throw pageFault(linear, acc, user, 0);
            }
            userOk &= (e & 4) != 0;
            writeOk &= (e & 2) != 0;
            return finish(linear, acc, user, entryAddr, e, 4, e & 0xFFFF_F000L, 4096, userOk, writeOk, false);
        }
        if (longMode) {
            table = s.cr3 & 0x000F_FFFF_FFFF_F000L;
            level = 4;
        } else {
            // PAE: the PDPTE (SDM Vol. 3A 4.4.1) has only P; read at walk time instead of cached at CR3 load
            entryAddr = (s.cr3 & 0xFFFF_FFE0L) + ((linear >>> 30) & 3) * 8;
            e = readPhys(entryAddr, 8);
            if ((e & 1) == 0) {
                throw pageFault(linear, acc, user, 0);
            }
            table = e & 0x000F_FFFF_FFFF_F000L;
            level = 2;
        }
        for (;; level--) {
            int shift = 12 + 9 * (level - 1);
            entryAddr = table + ((linear >>> shift) & 0x1FF) * 8;
            e = readPhys(entryAddr, 8);
            if ((e & 1) == 0) {
                throw pageFault(linear, acc, user, 0);
            }
            if (!nxe && e < 0 || level == 4 && (e & 0x80) != 0) {
                throw pageFault(linear, acc, user, 1 | 8);
            }
            userOk &= (e & 4) != 0;
            writeOk &= (e & 2) != 0;
            nx |= nxe && e < 0;
            boolean large = (e & 0x80) != 0 && (level == 2 || level == 3);
            if (level == 1 || large) {
                pageSize = 1L << shift;
                long pa = e & 0x000F_FFFF_FFFF_F000L & -pageSize;
                if (large && (e & 0x000F_FFFF_FFFF_F000L & (pageSize - 1) & ~0x1000L) != 0) {
                    throw pageFault(linear, acc, user, 1 | 8); // reserved bits in a large page's address
                }
                return finish(linear, acc, user, entryAddr, e, 8, pa, pageSize, userOk, writeOk, nx);
            }
            checkPermission(linear, acc, user, userOk, writeOk, nx, wp, false);
            setAccessed(entryAddr, e, 8);
            table = e & 0x000F_FFFF_FFFF_F000L;
        }
    }

    private void checkPermission(long linear, int acc, boolean user, boolean userOk, boolean writeOk, boolean nx,
            boolean wp, boolean leaf) {
        if (!leaf) {
            return; // permissions accumulate; checked once at the leaf
        }
        boolean ok = switch (acc) {
            case WRITE -> user ? userOk && writeOk : writeOk || !wp;
            case EXEC -> !nx && (!user || userOk);
            default -> !user || userOk;
        };
        if (!ok) {
            throw pageFault(linear, acc, user, 1);
        }
    }

    private long finish(long linear, int acc, boolean user, long entryAddr, long e, int entrySize, long pageBase,
            long pageSize, boolean userOk, boolean writeOk, boolean nx) {
        boolean wp = (s.cr0 & 0x1_0000) != 0;
        checkPermission(linear, acc, user, userOk, writeOk, nx, wp, true);
        boolean dirty = (e & 0x40) != 0;
        if ((e & 0x20) == 0 || acc == WRITE && !dirty) {
            long set = 0x20 | (acc == WRITE ? 0x40 : 0);
            atomicOr(entryAddr, entrySize, set);
            dirty |= acc == WRITE;
        }
        long phys = (pageBase + (linear & (pageSize - 1))) & ~0xFFFL;
        long lpn = linear >>> 12;
        int i = (int) lpn & (TLB_SIZE - 1);
        int perm = 1 | (userOk ? 2 : 0);
        if (dirty) {
            perm |= (writeOk || !wp ? 4 : 0) | (userOk && writeOk ? 8 : 0);
        }
        if (!nx) {
            perm |= 16 | (userOk ? 32 : 0);
        }
        if ((e & 0x100) != 0 && (s.cr4 & 0x80) != 0) {
            perm |= GLOBAL;
        }
        if (pageSize > 4096) {
            perm |= LARGE;
            largePieces = true;
            int j = (int) (linear >>> 21) & (LARGE_SIZE - 1);
            largeTag[j] = linear >>> 21;
            largePhys[j] = (pageBase + (linear & (pageSize - 1))) & ~0x1F_FFFFL;
            largePerm[j] = perm;
        }
        fill(i, lpn, phys, perm);
        return phys | (linear & 0xFFF);
    }

    private void fill(int i, long lpn, long phys, int perm) {
        tlbTag[i] = lpn;
        tlbPhys[i] = phys;
        tlbPerm[i] = perm;
        ByteBuffer b = ram(phys, 4096);
        tlbRam[i] = b;
        tlbRamOff[i] = (int) (phys & 0x3FFF_FFFFL);
        // the fast TLB: host addresses only for a whole page of direct RAM, tags only for canonical pages
        long host = b == null ? 0 : platform.chunkHost[(int) (phys >>> 30)];
        boolean fast = host != 0 && CpuState.canonical(lpn << 12);
        int k = i << 2;
        fastSup[k + FAST_READ] = fast && (perm & 1) != 0 ? lpn : -1;
        fastSup[k + FAST_WRITE] = fast && (perm & 4) != 0 ? lpn : -1;
        fastUser[k + FAST_READ] = fast && (perm & 2) != 0 ? lpn : -1;
        fastUser[k + FAST_WRITE] = fast && (perm & 8) != 0 ? lpn : -1;
        fastSup[k + FAST_HOST] = fastUser[k + FAST_HOST] = fast ? host + (phys & 0x3FFF_FFFFL) : 0;
        fastSup[k + FAST_PPN] = fastUser[k + FAST_PPN] = phys >>> 12;
    }

    private void setAccessed(long entryAddr, long e, int size) {
        if ((e & 0x20) == 0) {
            atomicOr(entryAddr, size, 0x20);
        }
    }

    /** Sets A/D bits with a compare-and-set, so a concurrent update of the entry by another vCPU is kept. */
    private void atomicOr(long pa, int size, long bits) {
        int gib = (int) (pa >>> 30);
        int off = (int) (pa & 0x3FFF_FFFFL);
        if (gib >= 0 && gib < chunks.length && chunks[gib] != null && off + size <= limits[gib]) {
            ByteBuffer b = chunks[gib];
            if (size == 8 && (off & 7) == 0) {
                long old;
                do {
                    old = (long) LONG.getVolatile(b, off);
                } while (!LONG.compareAndSet(b, off, old, old | bits));
                return;
            }
            if (size == 4 && (off & 3) == 0) {
                int old;
                do {
                    old = (int) INT.getVolatile(b, off);
                } while (!INT.compareAndSet(b, off, old, old | (int) bits));
                return;
            }
        }
        writePhys(pa, size, readPhys(pa, size) | bits);
    }

    private GuestFault pageFault(long linear, int acc, boolean user, int bits) {
        // error code (SDM Vol. 3A 4.7): P, W/R, U/S, RSVD, I/D
        int code = bits | (acc == WRITE ? 2 : 0) | (user ? 4 : 0)
                | (acc == EXEC && (s.efer & CpuState.EFER_NXE) != 0 ? 16 : 0);
        s.cr2 = linear;
        return fault.set(GuestFault.PF, code, true);
    }

    // ---- linear access (the caller has applied segmentation) ----------------------------------------------

    long read(long linear, int size, boolean user) {
        long[] fast = user ? fastUser : fastSup;
        int k = ((int) (linear >>> 12) & (TLB_SIZE - 1)) << 2;
        if (fast[k + FAST_READ] == (linear + size - 1) >>> 12) {
            return HostRam.load(fast[k + FAST_HOST] + (linear & 0xFFF), size);
        }
        int po = (int) linear & 0xFFF;
        if (po + size <= 4096) {
            // the TLB hit on a RAM page goes straight to the buffer
            long lpn = linear >>> 12;
            int i = (int) lpn & (TLB_SIZE - 1);
            if (tlbTag[i] == lpn && (tlbPerm[i] & (user ? 2 : 1)) != 0) {
                ByteBuffer b = tlbRam[i];
                return b != null ? readRam(b, tlbRamOff[i] + po, size) : readPhys(tlbPhys[i] | po, size);
            }
            return readPhys(walk(linear, READ, user), size);
        }
        int first = 4096 - (int) (linear & 0xFFF);
        long p1 = translate(linear, READ, user);
        long p2 = translate(linear + first, READ, user);
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= readPhys(i < first ? p1 + i : p2 + i - first, 1) << (8 * i);
        }
        return v;
    }

    void write(long linear, int size, long value, boolean user) {
        long[] fast = user ? fastUser : fastSup;
        int k = ((int) (linear >>> 12) & (TLB_SIZE - 1)) << 2;
        if (fast[k + FAST_WRITE] == (linear + size - 1) >>> 12 && codeMap[(int) fast[k + FAST_PPN]] == 0) {
            HostRam.store(fast[k + FAST_HOST] + (linear & 0xFFF), size, value);
            return;
        }
        int po = (int) linear & 0xFFF;
        if (po + size <= 4096) {
            long lpn = linear >>> 12;
            int i = (int) lpn & (TLB_SIZE - 1);
            if (tlbTag[i] == lpn && (tlbPerm[i] & (user ? 8 : 4)) != 0) {
                ByteBuffer b = tlbRam[i];
                if (b == null) {
                    writePhys(tlbPhys[i] | po, size, value);
                    return;
                }
                writeRam(b, tlbRamOff[i] + po, size, value);
                long pa = tlbPhys[i] | po;
                if (platform.isCode(pa)) {
                    platform.invalidatePage(pa);
                    codeWritten = true;
                }
                return;
            }
            writePhys(walk(linear, WRITE, user), size, value);
            return;
        }
        // both pages are translated (and may fault) before anything is written
        int first = 4096 - (int) (linear & 0xFFF);
        long p1 = translate(linear, WRITE, user);
        long p2 = translate(linear + first, WRITE, user);
        for (int i = 0; i < size; i++) {
            writePhys(i < first ? p1 + i : p2 + i - first, 1, value >>> (8 * i));
        }
    }

    /**
     * The host address of {@code [linear, linear + length)} when it lies in one page of direct RAM that the fast
     * TLB holds readable; else 0 (the caller takes the full path). For bulk string moves.
     */
    long hostRead(long linear, int length, boolean user) {
        long[] fast = user ? fastUser : fastSup;
        int k = ((int) (linear >>> 12) & (TLB_SIZE - 1)) << 2;
        return fast[k + FAST_READ] == (linear + length - 1) >>> 12 ? fast[k + FAST_HOST] + (linear & 0xFFF) : 0;
    }

    /** As {@link #hostRead}, for writing: also 0 for a page holding decoded code. */
    long hostWrite(long linear, int length, boolean user) {
        long[] fast = user ? fastUser : fastSup;
        int k = ((int) (linear >>> 12) & (TLB_SIZE - 1)) << 2;
        return fast[k + FAST_WRITE] == (linear + length - 1) >>> 12 && codeMap[(int) fast[k + FAST_PPN]] == 0
                ? fast[k + FAST_HOST] + (linear & 0xFFF) : 0;
    }

    /** Translates for writing (faulting if not writable) without writing: read-modify-write instructions. */
    long translateWrite(long linear, int size, boolean user) {
        long p = translate(linear, WRITE, user);
        if ((linear & 0xFFF) + size > 4096) {
            translate((linear | 0xFFF) + 1, WRITE, user);
        }
        return p;
    }

    // ---- physical access -----------------------------------------------------------------------------------

    /** The RAM chunk of {@code pa} when the {@code size} bytes there are RAM, else null. */
    ByteBuffer ram(long pa, int size) {
        int gib = (int) (pa >>> 30);
        if (gib >= 0 && gib < chunks.length) {
            ByteBuffer b = chunks[gib];
            if (b != null && (pa & 0x3FFF_FFFFL) + size <= limits[gib]) {
                return b;
            }
        }
        return null;
    }

    long readPhys(long pa, int size) {
        ByteBuffer b = ram(pa, size);
        if (b == null) {
            long v = platform.bus.mmioRead(pa, size);
            return size == 8 ? v : v & ((1L << (size * 8)) - 1);
        }
        return readRam(b, (int) (pa & 0x3FFF_FFFFL), size);
    }

    private static long readRam(ByteBuffer b, int off, int size) {
        if ((off & (size - 1)) == 0) {
            return switch (size) {
                case 1 -> {
                    long v = b.get(off) & 0xFF;
                    VarHandle.acquireFence();
                    yield v;
                }
                case 2 -> (short) SHORT.getAcquire(b, off) & 0xFFFFL;
                case 4 -> (int) INT.getAcquire(b, off) & 0xFFFF_FFFFL;
                default -> (long) LONG.getAcquire(b, off);
            };
        }
        long v = switch (size) {
            case 2 -> b.getShort(off) & 0xFFFFL;
            case 4 -> b.getInt(off) & 0xFFFF_FFFFL;
            default -> b.getLong(off);
        };
        VarHandle.acquireFence();
        return v;
    }

    void writePhys(long pa, int size, long v) {
        ByteBuffer b = ram(pa, size);
        if (b == null) {
            platform.bus.mmioWrite(pa, size, size == 8 ? v : v & ((1L << (size * 8)) - 1));
            mmioWritten = true;
            return;
        }
        writeRam(b, (int) (pa & 0x3FFF_FFFFL), size, v);
        if (platform.isCode(pa)) {
            platform.invalidatePage(pa);
            codeWritten = true;
        }
    }

    private static void writeRam(ByteBuffer b, int off, int size, long v) {
        if ((off & (size - 1)) == 0) {
            switch (size) {
                case 1 -> {
                    VarHandle.releaseFence();
                    b.put(off, (byte) v);
                }
                case 2 -> SHORT.setRelease(b, off, (short) v);
                case 4 -> INT.setRelease(b, off, (int) v);
                default -> LONG.setRelease(b, off, v);
            }
        } else {
            VarHandle.releaseFence();
            switch (size) {
                case 2 -> b.putShort(off, (short) v);
                case 4 -> b.putInt(off, (int) v);
                default -> b.putLong(off, v);
            }
        }
    }
}
