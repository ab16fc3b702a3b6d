package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.Mmu.FAST_HOST;
import static dev.apiary.vmm.x86.Mmu.FAST_PPN;
import static dev.apiary.vmm.x86.Mmu.FAST_READ;
import static dev.apiary.vmm.x86.Mmu.FAST_WRITE;
import static dev.apiary.vmm.x86.Mmu.TLB_SIZE;

/**
 * Guest memory accesses of translated blocks (64-bit mode, linear address already formed): a hit in the fast
 * TLB ({@link Mmu#fastSup}) on a RAM page goes straight to host memory, anything else (a miss, a page-crossing
 * or non-canonical address, MMIO, a store into a page holding decoded code) takes the CPU's full path. Each
 * method is small enough for HotSpot to inline at a hot call site, where the size is a constant.
 *
 * <p>Stores return whether the block must end after the storing instruction: the store hit a page with decoded
 * code (the block may have changed) or MMIO (an EOI may make an interrupt deliverable). On the fast path that is
 * the constant false, which the JIT folds away.
 */
final class BlockMemory {
    private BlockMemory() {}

    private static int entry(long lin) {
        return ((int) (lin >>> 12) & (TLB_SIZE - 1)) << 2;
    }

    static long read1(Cpu cpu, long[] tlb, int seg, long lin) {
        int k = entry(lin);
        if (tlb[k + FAST_READ] == (lin + 0) >>> 12) {
            return HostRam.load1(tlb[k + FAST_HOST] + (lin & 0xFFF));
        }
        return cpu.readLinear(seg, lin, 1);
    }

    static long read2(Cpu cpu, long[] tlb, int seg, long lin) {
        int k = entry(lin);
        if (tlb[k + FAST_READ] == (lin + 1) >>> 12) {
            return HostRam.load2(tlb[k + FAST_HOST] + (lin & 0xFFF));
        }
        return cpu.readLinear(seg, lin, 2);
    }

    static long read4(Cpu cpu, long[] tlb, int seg, long lin) {
        int k = entry(lin);
        if (tlb[k + FAST_READ] == (lin + 3) >>> 12) {
            return HostRam.load4(tlb[k + FAST_HOST] + (lin & 0xFFF));
        }
        return cpu.readLinear(seg, lin, 4);
    }

    static long read8(Cpu cpu, long[] tlb, int seg, long lin) {
        int k = entry(lin);
        if (tlb[k + FAST_READ] == (lin + 7) >>> 12) {
            return HostRam.load8(tlb[k + FAST_HOST] + (lin & 0xFFF));
        }
        return cpu.readLinear(seg, lin, 8);
    }

    /** The read of a read-modify-write: faults unless the operand is writable, before anything is written. */
    static long readForWrite1(Cpu cpu, long[] tlb, int seg, long lin) {
        int k = entry(lin);
        if (tlb[k + FAST_WRITE] == (lin + 0) >>> 12) {
            return HostRam.load1(tlb[k + FAST_HOST] + (lin & 0xFFF));
        }
        return cpu.readForWriteLinear(seg, lin, 1);
    }

    /** The read of a read-modify-write: faults unless the operand is writable, before anything is written. */
    static long readForWrite2(Cpu cpu, long[] tlb, int seg, long lin) {
        int k = entry(lin);
        if (tlb[k + FAST_WRITE] == (lin + 1) >>> 12) {
            return HostRam.load2(tlb[k + FAST_HOST] + (lin & 0xFFF));
        }
        return cpu.readForWriteLinear(seg, lin, 2);
    }

    /** The read of a read-modify-write: faults unless the operand is writable, before anything is written. */
    static long readForWrite4(Cpu cpu, long[] tlb, int seg, long lin) {
        int k = entry(lin);
        if (tlb[k + FAST_WRITE] == (lin + 3) >>> 12) {
            return HostRam.load4(tlb[k + FAST_HOST] + (lin & 0xFFF));
        }
        return cpu.readForWriteLinear(seg, lin, 4);
    }

    /** The read of a read-modify-write: faults unless the operand is writable, before anything is written. */
    static long readForWrite8(Cpu cpu, long[] tlb, int seg, long lin) {
        int k = entry(lin);
        if (tlb[k + FAST_WRITE] == (lin + 7) >>> 12) {
            return HostRam.load8(tlb[k + FAST_HOST] + (lin & 0xFFF));
        }
        return cpu.readForWriteLinear(seg, lin, 8);
    }

    static boolean write1(Cpu cpu, long[] tlb, byte[] code, int seg, long lin, long v) {
        int k = entry(lin);
        if (tlb[k + FAST_WRITE] == (lin + 0) >>> 12 && code[(int) tlb[k + FAST_PPN]] == 0) {
            HostRam.store1(tlb[k + FAST_HOST] + (lin & 0xFFF), v);
            return false;
        }
        return cpu.writeLinear(seg, lin, 1, v);
    }

    static boolean write2(Cpu cpu, long[] tlb, byte[] code, int seg, long lin, long v) {
        int k = entry(lin);
        if (tlb[k + FAST_WRITE] == (lin + 1) >>> 12 && code[(int) tlb[k + FAST_PPN]] == 0) {
            HostRam.store2(tlb[k + FAST_HOST] + (lin & 0xFFF), v);
            return false;
        }
        return cpu.writeLinear(seg, lin, 2, v);
    }

    static boolean write4(Cpu cpu, long[] tlb, byte[] code, int seg, long lin, long v) {
        int k = entry(lin);
        if (tlb[k + FAST_WRITE] == (lin + 3) >>> 12 && code[(int) tlb[k + FAST_PPN]] == 0) {
            HostRam.store4(tlb[k + FAST_HOST] + (lin & 0xFFF), v);
            return false;
        }
        return cpu.writeLinear(seg, lin, 4, v);
    }

    static boolean write8(Cpu cpu, long[] tlb, byte[] code, int seg, long lin, long v) {
        int k = entry(lin);
        if (tlb[k + FAST_WRITE] == (lin + 7) >>> 12 && code[(int) tlb[k + FAST_PPN]] == 0) {
            HostRam.store8(tlb[k + FAST_HOST] + (lin & 0xFFF), v);
            return false;
        }
        return cpu.writeLinear(seg, lin, 8, v);
    }
}
