package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;
import static dev.apiary.vmm.x86.SoftFloat.*;

/**
 * The x87 FPU (SDM Vol. 1 chapter 8, Vol. 2 per instruction): loads, stores, integer conversions,
 * arithmetic with precision and rounding control through {@link SoftFloat} in exact 80-bit extended
 * format, comparisons (FCOM*, FUCOM*, FCOMI*, FTST, FXAM), constants, stack control, FCMOVcc, control and
 * environment (FLDCW/FNSTCW/FNSTSW/FNCLEX/FNINIT/FNSTENV/FLDENV/FNSAVE/FRSTOR), FSQRT, FRNDINT, FSCALE,
 * FXTRACT, FPREM/FPREM1, FBLD/FBSTP. The transcendental instructions (FSIN, FCOS, FSINCOS, FPTAN, FPATAN,
 * F2XM1, FYL2X, FYL2XP1) raise #UD (logged once).
 *
 * <p>Masked exceptions give the SDM's masked responses; an unmasked one sets ES/B (the destination is left
 * unchanged for invalid-operation, denormal and divide-by-zero) and the next waiting x87 instruction or
 * FWAIT raises #MF.
 */
final class X87 {
    private static final int C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, SF = 0x40, ES = 0x80, B = 0x8000;
    private static final int CC = C0 | C1 | C2 | C3;

    private final Cpu cpu;
    private final Interp in;
    private final FpuState f;
    private final SoftFloat sf;
    /** Whether the last operation's result may be written (no unmasked pre-computation exception). */
    private boolean writeOk;

    X87(Cpu cpu, Interp in, SoftFloat sf) {
        this.cpu = cpu;
        this.in = in;
        this.f = cpu.s.fpu;
        this.sf = sf;
    }

    // ---- register stack ----

    private int phys(int i) {
        return (f.top + i) & 7;
    }

    private boolean empty(int i) {
        return (f.valid >> phys(i) & 1) == 0;
    }

    private Val st(int i) {
        int p = phys(i);
        return sf.unpack(F80, f.mant[p], f.se[p]);
    }

    private void set(int i, long mant, int se) {
        int p = phys(i);
        f.mant[p] = mant;
        f.se[p] = se & 0xFFFF;
        f.valid |= 1 << p;
    }

    private void pop() {
        f.valid &= ~(1 << f.top);
        f.top = (f.top + 1) & 7;
    }

    /** Pushes a value; on stack overflow (ST(7) in use) IE/SF with C1 = 1 and, masked, the indefinite. */
    private void push(long mant, int se) {
        int nt = (f.top - 1) & 7;
        if ((f.valid >> nt & 1) != 0) {
            f.fsw = (f.fsw & ~C1) | IE | SF | C1;
            if ((f.fcw & IE) == 0) {
                updateSummary();
                return;
            }
            mant = INDEF80;
            se = INDEF80_HI;
        } else {
            f.fsw &= ~C1;
        }
        f.top = nt;
        set(0, mant, se);
    }

    /** Stack underflow: IE and SF with C1 = 0; whether the masked response (write the indefinite) applies. */
    private boolean underflow() {
        f.fsw = (f.fsw & ~C1) | IE | SF;
        updateSummary();
        return (f.fcw & IE) != 0;
    }

    private void updateSummary() {
        if ((f.fsw & ~f.fcw & 0x3F) != 0) {
            f.fsw |= ES | B;
        } else {
            f.fsw &= ~(ES | B);
        }
    }

    private void prepare() {
        sf.rc = f.fcw >> 10 & 3;
        sf.daz = false;
        sf.ftz = false;
        sf.umask = f.fcw & 0x3F;
        sf.flags = 0;
        sf.roundedUp = false;
    }

    private int precision() {
        return switch (f.fcw >> 8 & 3) {
            case 0 -> 24;
            case 2 -> 53;
            default -> 64;
        };
    }

    /** Merges an operation's flags into FSW and sets C1 (rounded up); decides whether the result is written. */
    private void commit() {
        int fl = sf.flags;
        if ((fl & ~f.fcw & (IE | DE | ZE)) != 0) {
            fl &= IE | DE | ZE; // an unmasked pre-computation exception: nothing computed (SDM Vol. 1 8.6)
        }
        f.fsw = (f.fsw & ~C1) | fl | ((fl & PE) != 0 && sf.roundedUp ? C1 : 0);
        writeOk = (fl & ~f.fcw & (IE | DE | ZE)) == 0;
        updateSummary();
    }

    // ---- dispatch ----

    void execute(Insn d) {
        CpuState s = cpu.s;
        if ((s.cr0 & 0xC) != 0) {
            throw cpu.fault(GuestFault.NM, 0); // CR0.EM or CR0.TS (SDM Vol. 3A 2.5, Table 12-8)
        }
        int op = d.aux;
        int reg = d.reg & 7;
        boolean control = d.mem ? (op == 1 && reg >= 4) || (op == 5 && (reg == 4 || reg == 6 || reg == 7))
                : (op == 3 && reg == 4) || (op == 7 && reg == 4);
        boolean noWait = d.mem ? (op == 1 && (reg == 6 || reg == 7)) || (op == 5 && (reg == 6 || reg == 7))
                : (op == 3 && reg == 4) || (op == 7 && reg == 4 && (d.rm & 7) == 0);
        if (!noWait && (f.fsw & ES) != 0) {
            throw cpu.fault(GuestFault.MF, 0); // a pending unmasked exception (SDM Vol. 1 8.6)
        }
        if (!control) {
            f.fip = s.rip;
            f.fop = opcodeWord(d);
            f.fdp = d.mem ? in.ea(d) : 0;
        }
        if (d.mem) {
            memory(d, op, reg);
        } else {
            register(d, op, reg, d.rm & 7);
        }
    }

    /** FOP: the last non-control instruction's opcode, low 3 bits of the first byte and the ModRM byte. */
    private static int opcodeWord(Insn d) {
        byte[] b = d.bytes;
        for (int i = 0; i + 1 < b.length; i++) {
            int v = b[i] & 0xFF;
            if (v >= 0xD8 && v <= 0xDF) {
                return (v & 7) << 8 | (b[i + 1] & 0xFF);
            }
        }
        return 0;
    }

    private Val intVal(long v) {
        Val r = new Val();
        if (v == 0) {
            r.kind = ZERO;
        } else {
            r.kind = FINITE;
            r.sign = v < 0;
            r.m = v < 0 ? ubig(-v) : java.math.BigInteger.valueOf(v);
        }
        return r;
    }

    private long read(Insn d, int size) {
        return cpu.read(d.seg, in.ea(d), size);
    }

    private void memory(Insn d, int op, int reg) {
        switch (op) {
            case 0 -> arithMem(d, reg, unpackMem(d, F32, 4));
            case 4 -> arithMem(d, reg, unpackMem(d, F64, 8));
            case 2 -> arithMem(d, reg, intVal((int) read(d, 4)));
            case 6 -> arithMem(d, reg, intVal((short) read(d, 2)));
            case 1 -> {
                switch (reg) {
                    case 0 -> load(sf.unpack(F32, read(d, 4), 0));
                    case 2, 3 -> storeFloat(d, F32, 4, reg == 3);
                    case 4 -> loadEnv(d, in.ea(d));
                    case 5 -> {
                        f.fcw = (int) read(d, 2) & 0x1F7F | 0x40;
                        updateSummary();
                    }
                    case 6 -> {
                        storeEnv(d, in.ea(d));
                        f.fcw |= 0x3F; // FNSTENV masks all exceptions after saving (SDM FSTENV)
                        updateSummary();
                    }
                    case 7 -> cpu.write(d.seg, in.ea(d), 2, f.fcw);
                    default -> throw cpu.undefined(d);
                }
            }
            case 3 -> {
                switch (reg) {
                    case 0 -> loadInt((int) read(d, 4));
                    case 1, 2, 3 -> storeInt(d, 4, reg != 2, reg == 1);
                    case 5 -> {
                        long m = read(d, 8);
                        int se = (int) cpu.read(d.seg, in.ea(d) + 8, 2);
                        push(m, se);
                    }
                    case 7 -> store80(d);
                    default -> throw cpu.undefined(d);
                }
            }
            case 5 -> {
                switch (reg) {
                    case 0 -> load(sf.unpack(F64, read(d, 8), 0));
                    case 1 -> storeInt(d, 8, true, true);
                    case 2, 3 -> storeFloat(d, F64, 8, reg == 3);
                    case 4 -> {
                        long a = in.ea(d);
                        loadEnv(d, a);
                        for (int i = 0; i < 8; i++) {
                            long m = cpu.read(d.seg, a + 28 + 10L * i, 8);
                            int se = (int) cpu.read(d.seg, a + 36 + 10L * i, 2);
                            int p = phys(i);
                            f.mant[p] = m;
                            f.se[p] = se;
                        }
                    }
                    case 6 -> {
                        long a = in.ea(d);
                        cpu.linear(d.seg, a, 108, Mmu.WRITE);
                        cpu.mmu.translateWrite(cpu.linear(d.seg, a, 1, Mmu.WRITE), 108, cpu.cpl == 3);
                        storeEnv(d, a);
                        for (int i = 0; i < 8; i++) {
                            int p = phys(i);
                            cpu.write(d.seg, a + 28 + 10L * i, 8, f.mant[p]);
                            cpu.write(d.seg, a + 36 + 10L * i, 2, f.se[p]);
                        }
                        f.finit();
                    }
                    case 7 -> cpu.write(d.seg, in.ea(d), 2, f.statusWord());
                    default -> throw cpu.undefined(d);
                }
            }
            default -> { // DF
                switch (reg) {
                    case 0 -> loadInt((short) read(d, 2));
                    case 1, 2, 3 -> storeInt(d, 2, reg != 2, reg == 1);
                    case 5 -> loadInt(read(d, 8));
                    case 7 -> storeInt(d, 8, true, false);
                    case 4 -> fbld(d);
                    case 6 -> fbstp(d);
                    default -> throw cpu.undefined(d);
                }
            }
        }
    }

    private Val unpackMem(Insn d, int fmt, int size) {
        return sf.unpack(fmt, read(d, size), 0);
    }

    // ---- loads and stores ----

    private void load(Val v) {
        if ((f.valid >> ((f.top - 1) & 7) & 1) != 0) {
            push(0, 0); // stack overflow: checked before the conversion's exceptions
            return;
        }
        prepare();
        long m = sf.convert(F80, v);
        int se = sf.hi;
        commit();
        if (!writeOk) {
            return;
        }
        push(m, se);
    }

    private void loadInt(long v) {
        prepare();
        long m = sf.packExact(F80, intVal(v));
        push(m, sf.hi);
    }

    private void storeFloat(Insn d, int fmt, int size, boolean pop) {
        long lin = cpu.linear(d.seg, in.ea(d), size, Mmu.WRITE);
        cpu.mmu.translateWrite(lin, size, cpu.cpl == 3);
        long bits;
        if (empty(0)) {
            if (!underflow()) {
                return;
            }
            bits = sf.indefinite(fmt);
        } else {
            prepare();
            Val v = st(0);
            // no DE for a denormal source (as the hardware does): the store only rounds
            bits = v.kind == FINITE ? sf.round(fmt, SoftFloat.precision(fmt), v.sign, v.m, v.e) : sf.convert(fmt, v);
            commit();
            if (!writeOk || (sf.flags & ~f.fcw & (OE | UE)) != 0) {
                return; // an unmasked overflow or underflow leaves memory and the stack alone
            }
        }
        cpu.mmu.write(lin, size, bits, cpu.cpl == 3);
        if (pop) {
            pop();
        }
    }

    private void storeInt(Insn d, int size, boolean pop, boolean truncate) {
        long lin = cpu.linear(d.seg, in.ea(d), size, Mmu.WRITE);
        cpu.mmu.translateWrite(lin, size, cpu.cpl == 3);
        long v;
        if (empty(0)) {
            if (!underflow()) {
                return;
            }
            v = 1L << (size * 8 - 1);
        } else {
            prepare();
            v = sf.toInt(st(0), size * 8, truncate);
            commit();
            if (!writeOk) {
                return;
            }
        }
        cpu.mmu.write(lin, size, v, cpu.cpl == 3);
        if (pop) {
            pop();
        }
    }

    private void store80(Insn d) {
        long a = in.ea(d);
        long lin = cpu.linear(d.seg, a, 10, Mmu.WRITE);
        cpu.mmu.translateWrite(lin, 10, cpu.cpl == 3);
        long m;
        int se;
        if (empty(0)) {
            if (!underflow()) {
                return;
            }
            m = INDEF80;
            se = INDEF80_HI;
        } else {
            m = f.mant[phys(0)];
            se = f.se[phys(0)];
            f.fsw &= ~C1;
        }
        cpu.mmu.write(lin, 8, m, cpu.cpl == 3);
        cpu.mmu.write(lin + 8, 2, se, cpu.cpl == 3);
        pop();
    }

    /** FBLD: 18 packed BCD digits, sign in bit 79 (SDM FBLD; invalid digits give undefined results). */
    private void fbld(Insn d) {
        long lo = read(d, 8);
        int top = (int) cpu.read(d.seg, in.ea(d) + 8, 2);
        long v = 0;
        for (int i = 17; i >= 0; i--) {
            int digit = (int) ((i < 16 ? lo >>> (4 * i) : top >>> (4 * (i - 16))) & 0xF);
            v = v * 10 + digit;
        }
        if ((top & 0x8000) != 0) {
            Val z = intVal(v);
            z.sign = true;
            prepare();
            long m = sf.packExact(F80, z);
            push(m, sf.hi);
            return;
        }
        loadInt(v);
    }

    /** FBSTP: ST(0) rounded by RC to 18 BCD digits; out of range or NaN: IE and the BCD indefinite. */
    private void fbstp(Insn d) {
        long lin = cpu.linear(d.seg, in.ea(d), 10, Mmu.WRITE);
        cpu.mmu.translateWrite(lin, 10, cpu.cpl == 3);
        long lo;
        int hiWord;
        if (empty(0)) {
            if (!underflow()) {
                return;
            }
            lo = INDEF80;
            hiWord = 0xFFFF;
        } else {
            prepare();
            Val v = st(0);
            long n = sf.toInt(v, 64, false);
            boolean sign = v.sign;
            if ((sf.flags & IE) == 0 && Math.abs(n) > 999_999_999_999_999_999L) {
                sf.flags = (sf.flags & ~PE) | IE;
            }
            commit();
            if (!writeOk) {
                return;
            }
            if ((sf.flags & IE) != 0) {
                lo = INDEF80;
                hiWord = 0xFFFF;
            } else {
                long a = Math.abs(n);
                lo = 0;
                for (int i = 0; i < 16; i++) {
                    lo |= (a % 10) << (4 * i);
                    a /= 10;
                }
                hiWord = (int) (a % 10 | (a / 10 % 10) << 4) | (sign ? 0x8000 : 0);
            }
        }
        cpu.mmu.write(lin, 8, lo, cpu.cpl == 3);
        cpu.mmu.write(lin + 8, 2, hiWord, cpu.cpl == 3);
        pop();
    }

    // ---- environment (32-bit protected-mode layout, SDM Vol. 1 Figure 8-9) ----

    private void storeEnv(Insn d, long a) {
        cpu.write(d.seg, a, 4, 0xFFFF_0000L | f.fcw);
        cpu.write(d.seg, a + 4, 4, 0xFFFF_0000L | f.statusWord());
        cpu.write(d.seg, a + 8, 4, 0xFFFF_0000L | f.fullTagWord());
        cpu.write(d.seg, a + 12, 4, f.fip);
        cpu.write(d.seg, a + 16, 4, (long) f.fop << 16 | cpu.s.sel[CS]);
        cpu.write(d.seg, a + 20, 4, f.fdp);
        cpu.write(d.seg, a + 24, 4, 0xFFFF_0000L);
    }

    private void loadEnv(Insn d, long a) {
        int fcw = (int) cpu.read(d.seg, a, 2);
        int fsw = (int) cpu.read(d.seg, a + 4, 2);
        int ftw = (int) cpu.read(d.seg, a + 8, 2);
        f.fip = cpu.read(d.seg, a + 12, 4);
        f.fop = (int) (cpu.read(d.seg, a + 16, 4) >>> 16) & 0x7FF;
        f.fdp = cpu.read(d.seg, a + 20, 4);
        f.fcw = fcw & 0x1F7F | 0x40;
        f.top = fsw >> 11 & 7;
        f.fsw = fsw & ~0x3800;
        int valid = 0;
        for (int i = 0; i < 8; i++) {
            if ((ftw >> (2 * i) & 3) != 3) {
                valid |= 1 << i;
            }
        }
        f.valid = valid;
        updateSummary();
    }

    // ---- arithmetic ----

    /** D8/DC/DA/DE with a memory operand: ST(0) op m. */
    private void arithMem(Insn d, int reg, Val src) {
        if (reg == 2 || reg == 3) {
            compare(0, src, true, reg == 3 ? 1 : 0);
            return;
        }
        arith(reg, 0, src, false);
    }

    /** dest = dest op src for op 0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr (the ModRM.reg numbering of D8). */
    private void arith(int op, int dest, Val src, boolean popAfter) {
        if (empty(dest) || src == null) {
            if (underflow()) {
                set(dest, INDEF80, INDEF80_HI);
                if (popAfter) {
                    pop();
                }
            }
            return;
        }
        Val a = st(dest);
        Val b = src;
        if (op == 5 || op == 7) {
            Val t = a;
            a = b;
            b = t;
        }
        int sop = switch (op) {
            case 0 -> SoftFloat.ADD;
            case 1 -> SoftFloat.MUL;
            case 4, 5 -> SoftFloat.SUB;
            default -> SoftFloat.DIV;
        };
        prepare();
        long m = sf.arith(sop, F80, precision(), a, b);
        int se = sf.hi;
        commit();
        if (writeOk) {
            set(dest, m, se);
            if (popAfter) {
                pop();
            }
        }
    }

    /** FCOM/FUCOM family: condition codes C3 C2 C0 (SDM FCOM Table 3-21); pops {@code pops} times. */
    private void compare(int i, Val src, boolean signalQuiet, int pops) {
        int cc;
        if (empty(0) || src == null) {
            if (!underflow()) {
                return;
            }
            cc = C3 | C2 | C0;
        } else {
            prepare();
            int c = sf.compare(st(0), src, signalQuiet);
            commit();
            if (!writeOk) {
                return;
            }
            cc = switch (c) {
                case -1 -> C0;
                case 0 -> C3;
                case 1 -> 0;
                default -> C3 | C2 | C0;
            };
        }
        f.fsw = (f.fsw & ~CC) | cc;
        for (int k = 0; k < pops; k++) {
            pop();
        }
    }

    /** FCOMI/FUCOMI(P): ZF, PF, CF as COMISS does; OF, SF, AF cleared. */
    private void compareFlags(int i, boolean signalQuiet, boolean popAfter) {
        long fl;
        if (empty(0) || empty(i)) {
            if (!underflow()) {
                return;
            }
            fl = ZF | PF | CF;
        } else {
            prepare();
            int c = sf.compare(st(0), st(i), signalQuiet);
            int c1 = f.fsw & C1; // C1 is left alone (the SDM defines it only for a stack underflow)
            commit();
            f.fsw = (f.fsw & ~C1) | c1;
            if (!writeOk) {
                return;
            }
            fl = switch (c) {
                case -1 -> CF;
                case 0 -> ZF;
                case 1 -> 0;
                default -> ZF | PF | CF;
            };
        }
        cpu.s.setArith(fl);
        if (popAfter) {
            pop();
        }
    }

    private Val regOrNull(int i) {
        return empty(i) ? null : st(i);
    }

    private void register(Insn d, int op, int reg, int i) {
        switch (op) {
            case 0 -> {
                if (reg == 2 || reg == 3) {
                    compare(0, regOrNull(i), true, reg == 3 ? 1 : 0);
                } else {
                    arith(reg, 0, regOrNull(i), false);
                }
            }
            case 4, 6 -> {
                if (reg == 2 || reg == 3) {
                    if (op == 6 && reg == 3 && i != 1) {
                        throw cpu.undefined(d);
                    }
                    // DC D0/D8 and DE D0 are aliases of FCOM/FCOMP; DE D9 is FCOMPP
                    compare(0, regOrNull(i), true, op == 6 ? (reg == 3 ? 2 : 1) : reg == 3 ? 1 : 0);
                } else {
                    int swapped = reg >= 4 ? reg ^ 1 : reg; // DC/DE E0+i is FSUBR ST(i), ST(0) etc.
                    Val src = regOrNull(0);
                    arith(swapped, i, src, op == 6);
                }
            }
            case 1 -> d9(d, reg, i);
            case 2 -> {
                if (reg < 4) {
                    fcmov(reg, i, false);
                } else if (reg == 5 && i == 1) {
                    compare(0, regOrNull(1), false, 2); // FUCOMPP
                } else {
                    throw cpu.undefined(d);
                }
            }
            case 3 -> {
                if (reg < 4) {
                    fcmov(reg, i, true);
                } else if (reg == 4) {
                    switch (i) {
                        case 2 -> {
                            f.fsw &= ~(0x3F | SF | ES | B); // FNCLEX
                        }
                        case 3 -> f.finit();
                        case 0, 1, 4 -> { } // FNENI, FNDISI, FSETPM: no-ops since the 80387
                        default -> throw cpu.undefined(d);
                    }
                } else if (reg == 5 || reg == 6) {
                    compareFlags(i, reg == 6, false);
                } else {
                    throw cpu.undefined(d);
                }
            }
            case 5 -> {
                switch (reg) {
                    case 0 -> {
                        f.valid &= ~(1 << phys(i)); // FFREE
                        f.fsw &= ~C1;
                    }
                    case 1 -> fxch(i);
                    case 2, 3 -> fstReg(i, reg == 3);
                    case 4, 5 -> compare(0, regOrNull(i), false, reg == 5 ? 1 : 0);
                    default -> throw cpu.undefined(d);
                }
            }
            default -> { // DF
                switch (reg) {
                    case 0 -> {
                        f.valid &= ~(1 << phys(i)); // FFREEP
                        f.fsw &= ~C1;
                        pop();
                    }
                    case 1 -> fxch(i);
                    case 2, 3 -> fstReg(i, true); // FSTP8, FSTP9: as FSTP ST(i)
                    case 4 -> {
                        if (i != 0) {
                            throw cpu.undefined(d);
                        }
                        in.setReg(0, 2, f.statusWord(), false); // FNSTSW AX
                    }
                    case 5, 6 -> compareFlags(i, reg == 6, true);
                    default -> throw cpu.undefined(d);
                }
            }
        }
    }

    private void fcmov(int cond, int i, boolean negate) {
        if (empty(0) || empty(i)) {
            if (underflow()) {
                set(0, INDEF80, INDEF80_HI);
            }
            return;
        }
        CpuState s = cpu.s;
        boolean c = switch (cond) {
            case 0 -> s.cf();
            case 1 -> s.zf();
            case 2 -> s.cf() || s.zf();
            default -> s.pf();
        };
        if (c != negate) {
            int p = phys(i);
            set(0, f.mant[p], f.se[p]);
        }
    }

    private void fxch(int i) {
        if (empty(0) || empty(i)) {
            if (!underflow()) {
                return;
            }
            if (empty(0)) {
                set(0, INDEF80, INDEF80_HI);
            }
            if (empty(i)) {
                set(i, INDEF80, INDEF80_HI);
            }
        }
        int p0 = phys(0), pi = phys(i);
        long m = f.mant[p0];
        int se = f.se[p0];
        f.mant[p0] = f.mant[pi];
        f.se[p0] = f.se[pi];
        f.mant[pi] = m;
        f.se[pi] = se;
        f.fsw &= ~C1;
    }

    /**
     * FSTP1 (D9 D8+i), undocumented: FSTP ST(i), except that an empty ST(0) is popped without a stack fault
     * and nothing is copied (as measured on the oracle).
     */
    private void fstpAlias(int i) {
        if (empty(0)) {
            f.fsw &= ~C1;
            pop();
            return;
        }
        fstReg(i, true);
    }

    private void fstReg(int i, boolean pop) {
        if (empty(0)) {
            if (!underflow()) {
                return;
            }
            set(i, INDEF80, INDEF80_HI);
        } else {
            int p = phys(0);
            set(i, f.mant[p], f.se[p]);
            f.fsw &= ~C1;
        }
        if (pop) {
            pop();
        }
    }

    // ---- D9 register forms ----

    /** 66-bit constants (SDM FLD1/FLDL2T/...: rounded to 64 bits by RC): significand, exponent, whether to round up to nearest. */
    private static final long[][] CONSTANTS = {
        {0xD49A_784B_CD1B_8AFEL, 0x4000, 0}, // log2(10)
        {0xB8AA_3B29_5C17_F0BBL, 0x3FFF, 1}, // log2(e)
        {0xC90F_DAA2_2168_C234L, 0x4000, 1}, // pi
        {0x9A20_9A84_FBCF_F798L, 0x3FFD, 1}, // log10(2)
        {0xB172_17F7_D1CF_79ABL, 0x3FFE, 1}, // ln(2)
    };

    private void d9(Insn d, int reg, int i) {
        switch (reg) {
            case 0 -> {
                if (empty(i)) {
                    if (underflow()) {
                        push(INDEF80, INDEF80_HI);
                    }
                    return;
                }
                int p = phys(i);
                push(f.mant[p], f.se[p]);
            }
            case 1 -> fxch(i);
            case 2 -> {
                if (i != 0) {
                    throw cpu.undefined(d);
                }
            }
            case 3 -> fstpAlias(i);
            case 4 -> {
                switch (i) {
                    case 0, 1 -> {
                        if (empty(0)) {
                            if (underflow()) {
                                set(0, INDEF80, INDEF80_HI);
                            }
                            return;
                        }
                        int p = phys(0);
                        f.se[p] = i == 0 ? f.se[p] ^ 0x8000 : f.se[p] & 0x7FFF;
                        f.fsw &= ~C1;
                    }
                    case 4 -> compare(0, intVal(0), true, 0); // FTST
                    case 5 -> fxam();
                    default -> throw cpu.undefined(d);
                }
            }
            case 5 -> {
                switch (i) {
                    case 0 -> push(Long.MIN_VALUE, 0x3FFF);
                    case 6 -> push(0, 0);
                    case 7 -> throw cpu.undefined(d);
                    default -> {
                        long[] c = CONSTANTS[i - 1];
                        int rc = f.fcw >> 10 & 3;
                        boolean up = rc == 2 || rc == 0 && c[2] != 0;
                        push(c[0] + (up ? 1 : 0), (int) c[1]);
                    }
                }
            }
            case 6 -> {
                switch (i) {
                    case 4 -> fxtract();
                    case 5 -> fprem(true);
                    case 6 -> {
                        f.top = (f.top - 1) & 7;
                        f.fsw &= ~C1;
                    }
                    case 7 -> {
                        f.top = (f.top + 1) & 7;
                        f.fsw &= ~C1;
                    }
                    default -> throw cpu.undefined(d); // F2XM1, FYL2X, FPTAN, FPATAN
                }
            }
            default -> {
                switch (i) {
                    case 0 -> fprem(false);
                    case 2 -> unary(true);
                    case 4 -> unary(false);
                    case 5 -> fscale();
                    default -> throw cpu.undefined(d); // FYL2XP1, FSINCOS, FSIN, FCOS
                }
            }
        }
    }

    private void fxam() {
        int p = phys(0);
        int cc;
        if (empty(0)) {
            cc = C3 | C0;
        } else {
            cc = switch (f.tag(p)) {
                case 0 -> C2;
                case 1 -> C3;
                default -> {
                    Val v = st(0);
                    if (v.unsupported) {
                        yield 0;
                    }
                    yield v.kind == NAN ? C0 : v.kind == INF ? C2 | C0 : C3 | C2;
                }
            };
        }
        if ((f.se[p] & 0x8000) != 0) {
            cc |= C1;
        }
        f.fsw = (f.fsw & ~CC) | cc;
    }

    /** FSQRT (sqrt) or FRNDINT. */
    private void unary(boolean sqrt) {
        if (empty(0)) {
            if (underflow()) {
                set(0, INDEF80, INDEF80_HI);
            }
            return;
        }
        prepare();
        long m = sqrt ? sf.sqrt(F80, precision(), st(0)) : sf.roundToIntegral(F80, st(0));
        int se = sf.hi;
        commit();
        if (writeOk) {
            set(0, m, se);
        }
    }

    private void fscale() {
        if (empty(0) || empty(1)) {
            if (underflow()) {
                set(0, INDEF80, INDEF80_HI);
            }
            return;
        }
        prepare();
        Val a = st(0), b = st(1);
        long m;
        if (a.kind == NAN || b.kind == NAN) {
            m = sf.propagate(F80, a, b);
        } else if (b.kind == INF) {
            if (a.kind == ZERO && !b.sign || a.kind == INF && b.sign) {
                sf.flags |= IE;
                m = sf.indefinite(F80);
            } else {
                sf.flags |= a.denormal ? DE : 0;
                m = a.kind == ZERO ? sf.packZero(F80, a.sign) : b.sign ? sf.packZero(F80, a.sign) : sf.packInf(F80, a.sign);
            }
        } else {
            if (a.denormal || b.denormal) {
                sf.flags |= DE;
            }
            if (a.kind != FINITE) {
                m = sf.packExact(F80, a);
            } else {
                long n = 0;
                if (b.kind == FINITE) {
                    java.math.BigInteger t = b.e >= 0 ? b.m.shiftLeft(Math.min(b.e, 40)) : b.m.shiftRight(-b.e);
                    n = t.bitLength() > 20 ? 1 << 20 : t.longValue();
                    n = b.sign ? -n : n;
                }
                m = sf.round(F80, 64, a.sign, a.m, (int) (a.e + n)); // precision control does not apply
            }
        }
        int se = sf.hi;
        commit();
        if (writeOk) {
            set(0, m, se);
        }
    }

    private void fxtract() {
        if (empty(0)) {
            if (underflow()) {
                set(0, INDEF80, INDEF80_HI);
                push(INDEF80, INDEF80_HI);
            }
            return;
        }
        if (!empty(7)) {
            // stack overflow: masked, both results are the indefinite
            f.fsw = (f.fsw & ~C1) | IE | SF | C1;
            updateSummary();
            if ((f.fcw & IE) != 0) {
                set(0, INDEF80, INDEF80_HI);
                f.top = (f.top - 1) & 7;
                set(0, INDEF80, INDEF80_HI);
            }
            return;
        }
        prepare();
        Val a = st(0);
        long em, sm;
        int ese, sse;
        if (a.kind == NAN) {
            em = sm = sf.propagate(F80, a, null);
            ese = sse = sf.hi;
        } else if (a.kind == ZERO) {
            sf.flags |= ZE;
            em = sf.packInf(F80, true);
            ese = sf.hi;
            sm = 0;
            sse = a.sign ? 0x8000 : 0;
        } else if (a.kind == INF) {
            em = sf.packInf(F80, false);
            ese = sf.hi;
            sm = Long.MIN_VALUE;
            sse = (a.sign ? 0x8000 : 0) | 0x7FFF;
        } else {
            if (a.denormal) {
                sf.flags |= DE;
            }
            int exp = a.e + a.m.bitLength() - 1;
            em = sf.fromLong(F80, 64, exp);
            ese = sf.hi;
            sm = sf.round(F80, 64, a.sign, a.m, -(a.m.bitLength() - 1));
            sse = sf.hi;
        }
        commit();
        if (writeOk) {
            set(0, em, ese);
            push(sm, sse);
        }
    }

    /** FPREM (truncating quotient) / FPREM1 (IEEE remainder): exact, partial when exponents differ by 64 or more. */
    private void fprem(boolean ieee) {
        if (empty(0) || empty(1)) {
            f.fsw &= ~C2;
            if (underflow()) {
                set(0, INDEF80, INDEF80_HI);
            }
            return;
        }
        prepare();
        Val a = st(0), b = st(1);
        long m;
        int cc = 0;
        int keep = CC; // NaN and invalid operands leave C0 and C3 alone and clear C1, C2
        if (a.kind == NAN || b.kind == NAN) {
            m = sf.propagate(F80, a, b);
            keep = C0 | C3;
            cc = f.fsw & keep;
        } else if (a.kind == INF || b.kind == ZERO) {
            sf.flags |= IE;
            m = sf.indefinite(F80);
            keep = C0 | C3;
            cc = f.fsw & keep;
        } else if (a.kind == ZERO || b.kind == INF) {
            sf.flags |= a.denormal || b.denormal ? DE : 0;
            m = sf.packExact(F80, a);
        } else {
            if (a.denormal || b.denormal) {
                sf.flags |= DE;
            }
            int ea = a.e + a.m.bitLength() - 1, eb = b.e + b.m.bitLength() - 1;
            int diff = ea - eb;
            java.math.BigInteger ma = a.m, mb = b.m;
            int e = Math.min(a.e, b.e);
            java.math.BigInteger na = ma.shiftLeft(a.e - e), nb = mb.shiftLeft(b.e - e);
            if (diff >= 64) {
                // partial remainder: reduce by ST(1) * 2^(diff - n); n is implementation-defined in 32..63
                // (SDM FPREM), here as measured on hardware: the reduction is a multiple of 32 bits
                int sh = (diff - 32) >>> 5 << 5;
                java.math.BigInteger q = na.divide(nb.shiftLeft(sh));
                java.math.BigInteger r = na.subtract(q.multiply(nb.shiftLeft(sh)));
                cc = C2;
                m = r.signum() == 0 ? sf.packZero(F80, a.sign) : sf.round(F80, 64, a.sign, r, e);
            } else {
                java.math.BigInteger[] qr = na.divideAndRemainder(nb);
                java.math.BigInteger q = qr[0], r = qr[1];
                boolean sign = a.sign;
                if (ieee) {
                    int c = r.shiftLeft(1).compareTo(nb);
                    if (c > 0 || c == 0 && q.testBit(0)) {
                        q = q.add(java.math.BigInteger.ONE);
                        r = nb.subtract(r);
                        sign = !sign;
                    }
                }
                long ql = q.longValue();
                cc = ((ql & 4) != 0 ? C0 : 0) | ((ql & 2) != 0 ? C3 : 0) | ((ql & 1) != 0 ? C1 : 0);
                m = r.signum() == 0 ? sf.packZero(F80, a.sign) : sf.round(F80, 64, sign, r, e);
            }
        }
        int se = sf.hi;
        commit();
        if (writeOk) {
            set(0, m, se);
            f.fsw = (f.fsw & ~CC) | cc | (f.fsw & C1 & ~keep);
        } else {
            f.fsw &= ~C2;
        }
    }
}
