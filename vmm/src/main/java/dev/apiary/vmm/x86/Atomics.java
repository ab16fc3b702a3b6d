package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.OpcodeTable.*;

import java.nio.ByteBuffer;

/**
 * LOCK'd read-modify-writes, XCHG with memory, XADD and CMPXCHG. A naturally aligned RAM operand is updated
 * with a VarHandle compare-and-set loop (bytes and words through their enclosing aligned dword), so it is
 * atomic against every other vCPU's locked operation and plain store; misaligned or MMIO operands and
 * CMPXCHG16B take the platform's lock (docs/software-cpu.md says what that does and does not guarantee).
 */
final class Atomics {
    private static final int M_OP = 0, M_XCHG = 1, M_XADD = 2, M_CMPXCHG = 3, M_OR = 4, M_ANDN = 5, M_XOR = 6;

    private Atomics() {}

    /** A locked ALU/unary op on d's memory operand with source {@code src}. */
    static void rmw(Cpu cpu, Interp in, Insn d, int size, long src) {
        long lin = cpu.linear(d.seg, in.ea(d), size, Mmu.WRITE);
        update(cpu, in, d, lin, size, src, M_OP);
    }

    /** A locked BTS/BTR/BTC: returns the old value. */
    static long lockedBits(Cpu cpu, Interp in, Insn d, long lin, int size, long bit) {
        int mode = d.op == Op.BTS ? M_OR : d.op == Op.BTR ? M_ANDN : M_XOR;
        return update(cpu, in, d, lin, size, bit, mode);
    }

    static void execute(Cpu cpu, Interp in, Insn d) {
        int size = d.s1;
        switch (d.op) {
            case XCHG -> {
                long b = in.read(d, d.k2, size);
                if (d.mem) {
                    long lin = cpu.linear(d.seg, in.ea(d), size, Mmu.WRITE);
                    long old = update(cpu, in, d, lin, size, b, M_XCHG);
                    in.setReg(d.reg, size, old, d.rex);
                } else {
                    long a = in.read(d, d.k1, size);
                    in.write(d, d.k1, size, b);
                    in.write(d, d.k2, size, a);
                }
            }
            case XADD -> {
                long b = in.getReg(d.reg, size, d.rex);
                if (d.mem) {
                    long lin = cpu.linear(d.seg, in.ea(d), size, Mmu.WRITE);
                    long old = update(cpu, in, d, lin, size, b, M_XADD);
                    in.setReg(d.reg, size, old, d.rex);
                } else {
                    long a = in.getReg(d.rm, size, d.rex);
                    long sum = in.aluOp(Op.ADD, a, b, size);
                    in.setReg(d.reg, size, a, d.rex);
                    in.setReg(d.rm, size, sum, d.rex);
                }
            }
            case CMPXCHG -> {
                long src = in.getReg(d.reg, size, d.rex);
                long acc = in.getReg(0, size, false);
                long old;
                if (d.mem) {
                    long lin = cpu.linear(d.seg, in.ea(d), size, Mmu.WRITE);
                    old = update(cpu, in, d, lin, size, src, M_CMPXCHG);
                } else {
                    old = in.getReg(d.rm, size, d.rex);
                    if (old == acc) {
                        in.setReg(d.rm, size, src, d.rex);
                    }
                }
                in.aluOp(Op.CMP, acc, old, size);
                if (old != acc) {
                    in.setReg(0, size, old, false);
                }
            }
            default -> cmpxchg8b(cpu, in, d);
        }
    }

    /** CMPXCHG8B / CMPXCHG16B (REX.W): compare EDX:EAX with m64 (RDX:RAX with m128). */
    private static void cmpxchg8b(Cpu cpu, Interp in, Insn d) {
        long[] r = cpu.s.r;
        boolean wide = d.osize == 8;
        long off = in.ea(d);
        if (!wide) {
            long lin = cpu.linear(d.seg, off, 8, Mmu.WRITE);
            long expected = (r[0] & 0xFFFF_FFFFL) | (r[2] << 32);
            long replacement = (r[3] & 0xFFFF_FFFFL) | (r[1] << 32);
            long old = update(cpu, in, d, lin, 8, replacement, 7, expected);
            boolean eq = old == expected;
            cpu.s.setFlag(CpuState.ZF, eq);
            if (!eq) {
                r[0] = old & 0xFFFF_FFFFL;
                r[2] = old >>> 32;
            }
            return;
        }
        if ((off & 15) != 0) {
            throw cpu.fault(GuestFault.GP, 0);
        }
        long lin = cpu.linear(d.seg, off, 16, Mmu.WRITE);
        boolean user = cpu.cpl == 3;
        synchronized (cpu.platform.atomicLock) {
            cpu.mmu.translateWrite(lin, 16, user);
            long lo = cpu.mmu.read(lin, 8, user);
            long hi = cpu.mmu.read(lin + 8, 8, user);
            boolean eq = lo == r[0] && hi == r[2];
            if (eq) {
                cpu.mmu.write(lin, 8, r[3], user);
                cpu.mmu.write(lin + 8, 8, r[1], user);
            } else {
                cpu.mmu.write(lin, 8, lo, user); // the destination is always written (SDM CMPXCHG16B)
                cpu.mmu.write(lin + 8, 8, hi, user);
                r[0] = lo;
                r[2] = hi;
            }
            cpu.s.setFlag(CpuState.ZF, eq);
        }
    }

    private static long update(Cpu cpu, Interp in, Insn d, long lin, int size, long src, int mode) {
        return update(cpu, in, d, lin, size, src, mode, in.getReg(0, size, false));
    }

    private static long newValue(Interp in, Insn d, long old, int size, long src, int mode, long acc) {
        return switch (mode) {
            case M_OP -> in.rmwResult(d, old, src, size);
            case M_XCHG -> src;
            case M_XADD -> in.aluOp(Op.ADD, old, src, size);
            case M_CMPXCHG -> old == acc ? src : old;
            case M_OR -> old | src;
            case M_ANDN -> old & ~src;
            case M_XOR -> old ^ src;
            default -> old == acc ? src : old; // CMPXCHG8B: acc is EDX:EAX
        };
    }

    /** Atomically replaces the operand with newValue(old); returns the old value. */
    private static long update(Cpu cpu, Interp in, Insn d, long lin, int size, long src, int mode, long acc) {
        boolean user = cpu.cpl == 3;
        long phys = cpu.mmu.translateWrite(lin, size, user);
        ByteBuffer b = (phys & (size - 1)) == 0 ? cpu.mmu.ram(phys, size) : null;
        long m = Interp.mask(size);
        if (b != null) {
            int off = (int) (phys & 0x3FFF_FFFFL);
            long old;
            if (size == 8) {
                long nv;
                do {
                    old = (long) Mmu.LONG.getVolatile(b, off);
                    nv = newValue(in, d, old, size, src, mode, acc);
                } while (!Mmu.LONG.compareAndSet(b, off, old, nv));
            } else {
                int woff = off & ~3;
                int shift = (off & 3) * 8;
                int word;
                int nword;
                do {
                    word = (int) Mmu.INT.getVolatile(b, woff);
                    old = ((word & 0xFFFF_FFFFL) >>> shift) & m;
                    long nv = newValue(in, d, old, size, src, mode, acc) & m;
                    nword = (int) ((word & ~(m << shift)) | (nv << shift));
                } while (!Mmu.INT.compareAndSet(b, woff, word, nword));
            }
            if (cpu.platform.isCode(phys)) {
                cpu.platform.invalidatePage(phys);
                cpu.mmu.codeWritten = true;
            }
            return old;
        }
        synchronized (cpu.platform.atomicLock) {
            long old = cpu.mmu.read(lin, size, user);
            long nv = newValue(in, d, old, size, src, mode, acc) & m;
            cpu.mmu.write(lin, size, nv, user);
            return old;
        }
    }
}
