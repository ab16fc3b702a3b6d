package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;
import static dev.apiary.vmm.x86.OpcodeTable.*;

/**
 * The interpreter: executes one decoded instruction against the CPU's state. Dispatch is on the
 * instruction's {@link Op}, first by family, so each handler method stays small for HotSpot. Semantics and
 * flags follow the SDM's "Operation" and "Flags Affected" sections of each instruction.
 */
final class Interp {
    private final Cpu cpu;
    private final CpuState s;
    private final long[] r;
    /** The linear address of the current read-modify-write memory operand. */
    private long rmwLinear;
    private final Sse sse;
    private final X87 x87;

    Interp(Cpu cpu) {
        this.cpu = cpu;
        this.s = cpu.s;
        this.r = cpu.s.r;
        this.sse = new Sse(cpu, this);
        this.x87 = new X87(cpu, this, sse.sf);
    }

    static long mask(int size) {
        return size == 8 ? -1L : (1L << (size * 8)) - 1;
    }

    static long sext(long v, int size) {
        int sh = 64 - size * 8;
        return v << sh >> sh;
    }

    void execute(Insn d) {
        switch (d.op.family) {
            case ALU -> alu(d);
            case SHIFT -> shift(d);
            case MULDIV -> mulDiv(d);
            case MOVE -> move(d);
            case BIT -> bits(d);
            case BRANCH -> Branches.execute(cpu, this, d);
            case STRING -> Strings.execute(cpu, this, d);
            case SYSTEM -> SystemOps.execute(cpu, this, d);
            case SSE -> sse.execute(d);
            case FPU -> x87.execute(d);
        }
    }

    // ---- operands ---------------------------------------------------------------------------------------

    long getReg(int n, int size, boolean rex) {
        if (size == 1) {
            if (!rex && n >= 4 && n < 8) {
                return (r[n - 4] >>> 8) & 0xFF;
            }
            return r[n] & 0xFF;
        }
        return size == 8 ? r[n] : r[n] & mask(size);
    }

    void setReg(int n, int size, long v, boolean rex) {
        switch (size) {
            case 1 -> {
                if (!rex && n >= 4 && n < 8) {
                    r[n - 4] = (r[n - 4] & ~0xFF00L) | ((v & 0xFF) << 8);
                } else {
                    r[n] = (r[n] & ~0xFFL) | (v & 0xFF);
                }
            }
            case 2 -> r[n] = (r[n] & ~0xFFFFL) | (v & 0xFFFF);
            case 4 -> r[n] = v & 0xFFFF_FFFFL;
            default -> r[n] = v;
        }
    }

    /** The offset (effective address) of the memory operand (SDM Vol. 1 3.7.5), wrapped to the address size. */
    long ea(Insn d) {
        long a = d.disp;
        if (d.base >= 0) {
            a += r[d.base];
        }
        if (d.index >= 0) {
            a += r[d.index] << d.scale;
        }
        if (d.ripRel) {
            a += cpu.nextRip;
        }
        return d.asize == 8 ? a : d.asize == 4 ? a & 0xFFFF_FFFFL : a & 0xFFFF;
    }

    long readE(Insn d, int size) {
        if (d.mem) {
            return cpu.read(d.seg, ea(d), size);
        }
        return getReg(d.rm, size, d.rex);
    }

    void writeE(Insn d, int size, long v) {
        if (d.mem) {
            cpu.write(d.seg, ea(d), size, v);
        } else {
            setReg(d.rm, size, v, d.rex);
        }
    }

    /** Reads the destination of a read-modify-write, checking write access first (no write before a fault). */
    long readRmw(Insn d, int size) {
        if (!d.mem) {
            return getReg(d.rm, size, d.rex);
        }
        return readRmwAt(d.seg, ea(d), size);
    }

    /** {@link #readRmw} for a memory operand at {@code seg:off} (translated blocks call it too). */
    long readRmwAt(int seg, long off, int size) {
        long lin = cpu.linear(seg, off, size, Mmu.WRITE);
        cpu.mmu.translateWrite(lin, size, cpu.cpl == 3);
        rmwLinear = lin;
        return cpu.mmu.read(lin, size, cpu.cpl == 3);
    }

    /** Completes {@link #readRmwAt}. */
    void writeRmwAt(int size, long v) {
        cpu.mmu.write(rmwLinear, size, v, cpu.cpl == 3);
    }

    void writeRmw(Insn d, int size, long v) {
        if (!d.mem) {
            setReg(d.rm, size, v, d.rex);
        } else {
            cpu.mmu.write(rmwLinear, size, v, cpu.cpl == 3);
        }
    }

    long read(Insn d, int kind, int size) {
        return switch (kind) {
            case K_E -> readE(d, size);
            case K_G -> getReg(d.reg, size, d.rex);
            case K_I -> d.imm & mask(size);
            case K_ONE -> 1;
            case K_CL -> r[1] & 0xFF;
            case K_DX -> r[2] & 0xFFFF;
            default -> 0;
        };
    }

    void write(Insn d, int kind, int size, long v) {
        if (kind == K_E) {
            writeE(d, size, v);
        } else {
            setReg(d.reg, size, v, d.rex);
        }
    }

    // ---- conditions ---------------------------------------------------------------------------------------

    boolean condition(int c) {
        return CpuState.condition(c, s.lfRes, s.lfAux, s.lfBits, s.ovMask, s.ovBits);
    }

    // ---- ALU ------------------------------------------------------------------------------------------------

    /** Computes a binary ALU operation and sets the lazy flags; returns the (unmasked) result. */
    long aluOp(Op op, long a, long b, int size) {
        int bits = size * 8;
        long res;
        switch (op) {
            case ADD -> {
                res = a + b;
                s.setLazy(res, CpuState.addAux(a, b, res), bits);
            }
            case ADC -> {
                res = a + b + (s.cf() ? 1 : 0);
                s.setLazy(res, CpuState.addAux(a, b, res), bits);
            }
            case SUB, CMP -> {
                res = a - b;
                s.setLazy(res, CpuState.subAux(a, b, res), bits);
            }
            case SBB -> {
                res = a - b - (s.cf() ? 1 : 0);
                s.setLazy(res, CpuState.subAux(a, b, res), bits);
            }
            case AND, TEST -> {
                res = a & b;
                s.setLazy(res, 0, bits);
            }
            case OR -> {
                res = a | b;
                s.setLazy(res, 0, bits);
            }
            default -> {
                res = a ^ b;
                s.setLazy(res, 0, bits);
            }
        }
        return res;
    }

    private void alu(Insn d) {
        Op op = d.op;
        int size = d.s1;
        switch (op) {
            case INC, DEC, NOT, NEG -> {
                if (d.lock) {
                    Atomics.rmw(cpu, this, d, size, 0);
                    return;
                }
                long a = readRmw(d, size);
                writeRmw(d, size, unary(op, a, size));
            }
            case CMP, TEST -> aluOp(op, read(d, d.k1, size), read(d, d.k2, size), size);
            default -> {
                long b = read(d, d.k2, size);
                if (d.k1 == K_E && d.mem) {
                    if (d.lock) {
                        Atomics.rmw(cpu, this, d, size, b);
                        return;
                    }
                    long a = readRmw(d, size);
                    writeRmw(d, size, aluOp(op, a, b, size));
                } else {
                    long a = read(d, d.k1, size);
                    write(d, d.k1, size, aluOp(op, a, b, size));
                }
            }
        }
    }

    long unary(Op op, long a, int size) {
        int bits = size * 8;
        switch (op) {
            case INC -> {
                boolean c = s.cf();
                long res = a + 1;
                s.setLazy(res, (a & 1) | ((a | 1) & ~res), bits);
                s.setFlag(CF, c);
                return res;
            }
            case DEC -> {
                boolean c = s.cf();
                long res = a - 1;
                s.setLazy(res, (~a & 1) | (~(a ^ 1) & res), bits);
                s.setFlag(CF, c);
                return res;
            }
            case NOT -> {
                return ~a;
            }
            default -> {
                long res = -a;
                s.setLazy(res, a | res, bits); // borrow-out of 0 - a
                return res;
            }
        }
    }

    /** The result of a locked read-modify-write for {@code d}'s op, from the old memory value. */
    long rmwResult(Insn d, long old, long src, int size) {
        return switch (d.op) {
            case INC, DEC, NOT, NEG -> unary(d.op, old, size);
            case BTS -> old | src;
            case BTR -> old & ~src;
            case BTC -> old ^ src;
            default -> aluOp(d.op, old, src, size);
        };
    }

    // ---- shifts and rotates -----------------------------------------------------------------------------------

    private void shift(Insn d) {
        int size = d.s1;
        int bits = size * 8;
        long m = mask(size);
        int cnt;
        if (d.op == Op.SHLD || d.op == Op.SHRD) {
            cnt = (int) read(d, d.k3, 1) & (size == 8 ? 63 : 31);
        } else {
            cnt = (int) read(d, d.k2, 1) & (size == 8 ? 63 : 31);
        }
        if (cnt == 0) {
            if (!d.mem) {
                if (size == 4 && d.k1 == K_E) {
                    // a 32-bit register destination is zero-extended even when nothing is shifted
                    setReg(d.rm, 4, getReg(d.rm, 4, d.rex), d.rex);
                }
            }
            return;
        }
        long a = readRmw(d, size);
        long res;
        switch (d.op) {
            case SHL, SAL, SHR, SAR -> {
                int kind = shiftKind(d.op);
                res = shiftResult(kind, a, cnt, size);
                s.setLazy(res, shiftAux(kind, a, cnt, size), bits);
            }
            case ROL, ROR -> {
                boolean left = d.op == Op.ROL;
                res = rotateResult(left, a, cnt, size);
                s.ovMask |= CF | OF;
                s.ovBits = (s.ovBits & ~(CF | OF)) | rotateFlags(left, res, size);
            }
            case RCL, RCR -> {
                int rc = size == 1 ? cnt % 9 : size == 2 ? cnt % 17 : cnt;
                long cf = s.cf() ? 1 : 0;
                res = a;
                if (d.op == Op.RCL) {
                    for (int i = 0; i < rc; i++) {
                        long out = (res >>> (bits - 1)) & 1;
                        res = ((res << 1) | cf) & m;
                        cf = out;
                    }
                    s.setFlag(OF, (((res >>> (bits - 1)) & 1) ^ cf) != 0);
                } else {
                    s.setFlag(OF, (((res >>> (bits - 1)) & 1) ^ cf) != 0);
                    for (int i = 0; i < rc; i++) {
                        long out = res & 1;
                        res = (res >>> 1) | (cf << (bits - 1));
                        cf = out;
                    }
                }
                s.setFlag(CF, cf != 0);
            }
            case SHLD -> {
                long b = getReg(d.reg, size, d.rex);
                if (cnt > bits) { // 16-bit operands with counts above 16: undefined, as the hardware does
                    long wide = (a << 48 >>> 48) | ((b & 0xFFFF) << 16) | ((a & 0xFFFF) << 32);
                    res = (wide << cnt >>> 32) & m;
                } else {
                    res = ((a << cnt) | (cnt == bits ? b : b >>> (bits - cnt))) & m;
                }
                boolean cf = ((a >>> (bits - cnt)) & 1) != 0;
                s.setResultCfOf(res, cf, ((res ^ a) >>> (bits - 1) & 1) != 0, bits);
            }
            default -> { // SHRD
                long b = getReg(d.reg, size, d.rex);
                res = ((a >>> cnt) | (cnt >= bits ? 0 : b << (bits - cnt))) & m;
                if (cnt > bits) {
                    res = ((b >>> (cnt - bits)) | (a << (2 * bits - cnt))) & m;
                }
                boolean cf = ((a >>> (cnt - 1)) & 1) != 0;
                s.setResultCfOf(res, cf, ((res ^ a) >>> (bits - 1) & 1) != 0, bits);
            }
        }
        writeRmw(d, size, res);
    }

    /** 0 for SHL/SAL, 1 for SHR, 2 for SAR: the argument of {@link #shiftResult} and {@link #shiftAux}. */
    static int shiftKind(Op op) {
        return op == Op.SHR ? 1 : op == Op.SAR ? 2 : 0;
    }

    /** The result of a shift by a masked, non-zero count (SDM Vol. 2B SAL/SAR/SHL/SHR). */
    static long shiftResult(int kind, long a, int cnt, int size) {
        long m = mask(size);
        return switch (kind) {
            case 0 -> (cnt < 64 ? a << cnt : 0) & m;
            case 1 -> a >>> cnt;
            default -> (sext(a, size) >> Math.min(cnt, 63)) & m;
        };
    }

    /** The lazy-flag aux vector of a shift: CF is the last bit shifted out, OF as the SDM defines it for a count of 1. */
    static long shiftAux(int kind, long a, int cnt, int size) {
        int bits = size * 8;
        boolean cf;
        boolean of;
        switch (kind) {
            case 0 -> {
                long res = shiftResult(0, a, cnt, size);
                cf = cnt <= bits && ((a >>> (bits - cnt)) & 1) != 0;
                of = ((res >>> (bits - 1)) & 1) != 0 != cf;
            }
            case 1 -> {
                cf = cnt <= 64 && ((a >>> (cnt - 1)) & 1) != 0;
                of = ((a >>> (bits - 1)) & 1) != 0 && cnt == 1;
            }
            default -> {
                cf = ((sext(a, size) >> Math.min(cnt - 1, 63)) & 1) != 0;
                of = false;
            }
        }
        return CpuState.cfOfAux(cf, of, bits);
    }

    /** ROL/ROR by a masked, non-zero count. */
    static long rotateResult(boolean left, long a, int cnt, int size) {
        int bits = size * 8;
        long m = mask(size);
        int rc = cnt % bits;
        if (rc == 0) {
            return a;
        }
        return left ? ((a << rc) | (a >>> (bits - rc))) & m : ((a >>> rc) | (a << (bits - rc))) & m;
    }

    /** CF and OF (as RFLAGS bits) after ROL/ROR produced {@code res}; the other flags are unchanged. */
    static long rotateFlags(boolean left, long res, int size) {
        int bits = size * 8;
        boolean cf;
        boolean of;
        if (left) {
            cf = (res & 1) != 0;
            of = ((res >>> (bits - 1)) & 1) != 0 != cf;
        } else {
            cf = ((res >>> (bits - 1)) & 1) != 0;
            of = cf != (((res >>> (bits - 2)) & 1) != 0);
        }
        return (cf ? CF : 0) | (of ? OF : 0);
    }

    // ---- multiply, divide, BCD ---------------------------------------------------------------------------------

    private void mulDiv(Insn d) {
        int size = d.s1;
        int bits = size * 8;
        switch (d.op) {
            case MUL -> {
                long b = readE(d, size);
                long a = getReg(0, size, false);
                if (size == 8) {
                    long lo = a * b;
                    long hi = Math.multiplyHigh(a, b) + ((a >> 63) & b) + ((b >> 63) & a);
                    r[0] = lo;
                    r[2] = hi;
                    s.setResultCfOf(lo, hi != 0, hi != 0, bits);
                } else {
                    long p = a * b;
                    storeWide(size, p);
                    boolean c = (p >>> bits) != 0;
                    s.setResultCfOf(p, c, c, bits);
                }
            }
            case IMUL1 -> {
                long b = sext(readE(d, size), size);
                long a = sext(getReg(0, size, false), size);
                if (size == 8) {
                    long lo = a * b;
                    long hi = Math.multiplyHigh(a, b);
                    r[0] = lo;
                    r[2] = hi;
                    boolean c = hi != (lo >> 63);
                    s.setResultCfOf(lo, c, c, bits);
                } else {
                    long p = a * b;
                    storeWide(size, p);
                    boolean c = sext(p, size) != p;
                    s.setResultCfOf(p, c, c, bits);
                }
            }
            case IMUL2, IMUL3 -> {
                long a = sext(readE(d, size), size);
                long b = d.op == Op.IMUL2 ? sext(getReg(d.reg, size, d.rex), size) : sext(d.imm, size);
                long lo = a * b;
                boolean c = imulOverflow(a, b, lo, size);
                setReg(d.reg, size, lo, d.rex);
                s.setResultCfOf(lo, c, c, bits);
            }
            case DIV -> divide(d, size);
            case IDIV -> idivide(d, size);
            default -> Bcd.execute(cpu, this, d);
        }
    }

    /** Whether the signed product {@code lo = a * b} of {@code size}-byte operands overflows (CF = OF = 1). */
    static boolean imulOverflow(long a, long b, long lo, int size) {
        return size == 8 ? Math.multiplyHigh(a, b) != (lo >> 63) : sext(lo, size) != lo;
    }

    /** Stores a double-width product: AX for bytes, DX:AX, EDX:EAX. */
    private void storeWide(int size, long p) {
        if (size == 1) {
            setReg(0, 2, p, false);
        } else {
            setReg(0, size, p, false);
            setReg(2, size, p >>> (size * 8), false);
        }
    }

    private void divide(Insn d, int size) {
        long b = readE(d, size);
        if (b == 0) {
            throw cpu.fault(GuestFault.DE, 0);
        }
        if (size == 8) {
            long hi = r[2];
            long lo = r[0];
            if (Long.compareUnsigned(hi, b) >= 0) {
                throw cpu.fault(GuestFault.DE, 0);
            }
            long q = 0;
            if (hi == 0) {
                q = Long.divideUnsigned(lo, b);
                r[2] = Long.remainderUnsigned(lo, b);
            } else {
                // 128/64 restoring division: the quotient fits (hi < b)
                long rem = hi;
                for (int i = 63; i >= 0; i--) {
                    boolean top = rem < 0;
                    rem = (rem << 1) | ((lo >>> i) & 1);
                    q <<= 1;
                    if (top || Long.compareUnsigned(rem, b) >= 0) {
                        rem -= b;
                        q |= 1;
                    }
                }
                r[2] = rem;
            }
            r[0] = q;
            return;
        }
        int bits = size * 8;
        long a = size == 1 ? r[0] & 0xFFFF : (getReg(2, size, false) << bits) | getReg(0, size, false);
        long q = Long.divideUnsigned(a, b);
        long rem = Long.remainderUnsigned(a, b);
        if ((q >>> bits) != 0) {
            throw cpu.fault(GuestFault.DE, 0);
        }
        if (size == 1) {
            setReg(0, 2, (rem << 8) | q, false);
        } else {
            setReg(0, size, q, false);
            setReg(2, size, rem, false);
        }
    }

    private void idivide(Insn d, int size) {
        long b = sext(readE(d, size), size);
        if (b == 0) {
            throw cpu.fault(GuestFault.DE, 0);
        }
        if (size == 8) {
            long hi = r[2];
            long lo = r[0];
            long q;
            long rem;
            if (hi == (lo >> 63)) {
                if (lo == Long.MIN_VALUE && b == -1) {
                    throw cpu.fault(GuestFault.DE, 0);
                }
                q = lo / b;
                rem = lo % b;
            } else {
                java.math.BigInteger n = java.math.BigInteger.valueOf(hi).shiftLeft(64)
                        .or(java.math.BigInteger.valueOf(lo).and(java.math.BigInteger.ONE.shiftLeft(64).subtract(java.math.BigInteger.ONE)));
                java.math.BigInteger[] qr = n.divideAndRemainder(java.math.BigInteger.valueOf(b));
                if (qr[0].bitLength() > 63) {
                    throw cpu.fault(GuestFault.DE, 0);
                }
                q = qr[0].longValue();
                rem = qr[1].longValue();
            }
            r[0] = q;
            r[2] = rem;
            return;
        }
        int bits = size * 8;
        long a = size == 1 ? sext(r[0] & 0xFFFF, 2) : (sext(getReg(2, size, false), size) << bits) | getReg(0, size, false);
        long q = a / b;
        long rem = a % b;
        if (sext(q, size) != q) {
            throw cpu.fault(GuestFault.DE, 0);
        }
        if (size == 1) {
            setReg(0, 2, ((rem & 0xFF) << 8) | (q & 0xFF), false);
        } else {
            setReg(0, size, q, false);
            setReg(2, size, rem, false);
        }
    }

    // ---- data movement -----------------------------------------------------------------------------------------

    private void move(Insn d) {
        switch (d.op) {
            case MOV -> write(d, d.k1, d.s1, read(d, d.k2, d.s2));
            case MOVZX -> setReg(d.reg, d.s1, readE(d, d.s2), d.rex);
            case MOVSX -> setReg(d.reg, d.s1, sext(readE(d, d.s2), d.s2), d.rex);
            case MOVSXD -> setReg(d.reg, d.s1, d.s1 == 8 ? sext(readE(d, 4), 4) : readE(d, d.s1), d.rex);
            case LEA -> setReg(d.reg, d.s1, ea(d), d.rex);
            case XCHG, XADD, CMPXCHG, CMPXCHG8B -> Atomics.execute(cpu, this, d);
            case CMOV -> {
                long v = readE(d, d.s1);
                if (condition(d.aux)) {
                    setReg(d.reg, d.s1, v, d.rex);
                } else if (d.s1 == 4) {
                    setReg(d.reg, 4, getReg(d.reg, 4, d.rex), d.rex); // 32-bit CMOVcc zero-extends anyway
                }
            }
            case SETCC -> writeE(d, 1, condition(d.aux) ? 1 : 0);
            case BSWAP -> {
                long v = getReg(d.rm, d.s1, d.rex);
                setReg(d.rm, d.s1, d.s1 == 8 ? Long.reverseBytes(v) : d.s1 == 4 ? Integer.reverseBytes((int) v) : 0, d.rex);
            }
            case CBW -> {
                int sz = d.osize;
                setReg(0, sz, sext(getReg(0, sz / 2, false), sz / 2), false);
            }
            case CWD -> {
                int sz = d.osize;
                setReg(2, sz, sext(getReg(0, sz, false), sz) >> 63, false);
            }
            case XLAT -> {
                long off = (r[3] + (r[0] & 0xFF)) & (d.asize == 8 ? -1L : d.asize == 4 ? 0xFFFF_FFFFL : 0xFFFF);
                setReg(0, 1, cpu.read(d.seg, off, 1), false);
            }
            case LAHF -> setReg(4, 1, s.rflags() & 0xD7 | 2, false);
            case SAHF -> s.setArith((s.arithFlags() & ~0xD5L) | (r[0] >>> 8 & 0xD5));
            case SALC -> setReg(0, 1, s.cf() ? 0xFF : 0, false);
            case NOP, MOVBE -> { }
            default -> Stack.execute(cpu, this, d);
        }
    }

    // ---- bits ----------------------------------------------------------------------------------------------------

    private void bits(Insn d) {
        int size = d.s1;
        int bits = size * 8;
        switch (d.op) {
            case BT, BTS, BTR, BTC -> {
                long off = read(d, d.k2, d.k2 == K_I ? 1 : size);
                long bit;
                Insn target = d;
                long a;
                if (d.mem && d.k2 == K_G) {
                    // a register bit offset addresses memory beyond the operand (SDM Vol. 2A BT)
                    long so = sext(off, size);
                    long disp = (so >> (size == 8 ? 6 : size == 4 ? 5 : 4)) * size;
                    bit = so & (bits - 1);
                    long addr = (ea(d) + disp) & (d.asize == 8 ? -1L : d.asize == 4 ? 0xFFFF_FFFFL : 0xFFFF);
                    if (d.op == Op.BT) {
                        a = cpu.read(d.seg, addr, size);
                        s.setFlag(CF, ((a >>> bit) & 1) != 0);
                        return;
                    }
                    long lin = cpu.linear(d.seg, addr, size, Mmu.WRITE);
                    if (d.lock) {
                        a = Atomics.lockedBits(cpu, this, d, lin, size, 1L << bit);
                    } else {
                        a = cpu.mmu.read(lin, size, cpu.cpl == 3);
                        long nv = d.op == Op.BTS ? a | (1L << bit) : d.op == Op.BTR ? a & ~(1L << bit) : a ^ (1L << bit);
                        cpu.mmu.write(lin, size, nv, cpu.cpl == 3);
                    }
                    s.setFlag(CF, ((a >>> bit) & 1) != 0);
                    return;
                }
                bit = off & (bits - 1);
                if (d.op == Op.BT) {
                    a = readE(d, size);
                } else if (d.lock && d.mem) {
                    long lin = cpu.linear(d.seg, ea(d), size, Mmu.WRITE);
                    a = Atomics.lockedBits(cpu, this, d, lin, size, 1L << bit);
                    s.setFlag(CF, ((a >>> bit) & 1) != 0);
                    return;
                } else {
                    a = readRmw(target, size);
                    long nv = d.op == Op.BTS ? a | (1L << bit) : d.op == Op.BTR ? a & ~(1L << bit) : a ^ (1L << bit);
                    writeRmw(target, size, nv);
                }
                s.setFlag(CF, ((a >>> bit) & 1) != 0);
            }
            case BSF, BSR -> {
                long v = readE(d, size);
                if (v == 0) {
                    s.setArith((s.arithFlags() & ~ZF) | ZF);
                    return;
                }
                int n = d.op == Op.BSF ? Long.numberOfTrailingZeros(v) : 63 - Long.numberOfLeadingZeros(v);
                setReg(d.reg, size, n, d.rex);
                s.setArith(s.arithFlags() & ~ZF);
            }
            case POPCNT -> {
                long v = readE(d, size);
                setReg(d.reg, size, Long.bitCount(v), d.rex);
                s.setArith(v == 0 ? ZF : 0);
            }
            default -> { // LZCNT
                long v = readE(d, size);
                int n = v == 0 ? bits : Long.numberOfLeadingZeros(v) - (64 - bits);
                setReg(d.reg, size, n, d.rex);
                s.setArith((s.arithFlags() & ~(CF | ZF)) | (v == 0 ? CF : 0) | (n == 0 ? ZF : 0));
            }
        }
    }
}
