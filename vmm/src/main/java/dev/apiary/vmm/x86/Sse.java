package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;

import dev.apiary.vmm.x86.OpcodeTable.Entry;

/**
 * SSE and SSE2 (SDM Vol. 1 chapters 10-11, Vol. 2 per instruction): data movement, packed integer,
 * floating point through {@link SoftFloat}, conversions, MXCSR, FXSAVE/FXRSTOR. MMX forms (no prefix on
 * 0F 60-7F, D0-FF) and SSE3+ are not implemented and raise #UD; CPUID does not advertise them.
 *
 * <p>Checks (SDM Vol. 3A 13.1, Table 2-21 "Type 4" etc.): CR0.EM or !CR4.OSFXSR gives #UD, CR0.TS #NM;
 * 16-byte memory operands must be 16-byte aligned (#GP(0)) except for the explicitly unaligned moves.
 * Unmasked SIMD floating-point exceptions leave the destination unchanged and raise #XM with
 * CR4.OSXMMEXCPT, else #UD.
 */
final class Sse {
    // ---- operations (Entry.aux) ------------------------------------------------------------------------------
    static final int MOVUPS = 1, MOVUPS_ST = 2, MOVSS = 3, MOVSS_ST = 4, MOVSD = 5, MOVSD_ST = 6, MOVLPS = 7,
            MOVLPS_ST = 8, MOVHPS = 9, MOVHPS_ST = 10, MOVAPS = 11, MOVAPS_ST = 12, MOVNT = 13, MOVMSKPS = 14,
            MOVMSKPD = 15, MOVD_TO = 16, MOVD_FROM = 17, MOVQ_LOAD = 18, MOVQ_STORE = 19, MOVDQU = 20,
            MOVDQU_ST = 21, PMOVMSKB = 22, PINSRW = 23, PEXTRW = 24, MASKMOVDQU = 25, LDMXCSR = 26, STMXCSR = 27,
            FXSAVE = 28, FXRSTOR = 29;
    // logic and integer arithmetic: element size in the low bits of the code
    static final int UNPCKLPS = 40, UNPCKHPS = 41, UNPCKLPD = 42, UNPCKHPD = 43, AND = 44, ANDN = 45, OR = 46,
            XOR = 47, PUNPCKLBW = 48, PUNPCKLWD = 49, PUNPCKLDQ = 50, PUNPCKLQDQ = 51, PUNPCKHBW = 52,
            PUNPCKHWD = 53, PUNPCKHDQ = 54, PUNPCKHQDQ = 55, PACKSSWB = 56, PACKUSWB = 57, PACKSSDW = 58,
            PCMPGTB = 59, PCMPGTW = 60, PCMPGTD = 61, PCMPEQB = 62, PCMPEQW = 63, PCMPEQD = 64, PSHUFD = 65,
            PSHUFHW = 66, PSHUFLW = 67, SHUFPS = 68, SHUFPD = 69, PADDB = 70, PADDW = 71, PADDD = 72, PADDQ = 73,
            PSUBB = 74, PSUBW = 75, PSUBD = 76, PSUBQ = 77, PADDSB = 78, PADDSW = 79, PADDUSB = 80, PADDUSW = 81,
            PSUBSB = 82, PSUBSW = 83, PSUBUSB = 84, PSUBUSW = 85, PMINUB = 86, PMAXUB = 87, PMINSW = 88,
            PMAXSW = 89, PAVGB = 90, PAVGW = 91, PMULLW = 92, PMULHW = 93, PMULHUW = 94, PMULUDQ = 95,
            PMADDWD = 96, PSADBW = 97, PSRLW = 98, PSRLD = 99, PSRLQ = 100, PSRAW = 101, PSRAD = 102, PSLLW = 103,
            PSLLD = 104, PSLLQ = 105, PSRLW_I = 106, PSRLD_I = 107, PSRLQ_I = 108, PSRAW_I = 109, PSRAD_I = 110,
            PSLLW_I = 111, PSLLD_I = 112, PSLLQ_I = 113, PSRLDQ = 114, PSLLDQ = 115;
    // floating point: the operation in bits 3:0, the form in bits 5:4 (0 ps, 1 pd, 2 ss, 3 sd)
    static final int FP = 0x100;
    static final int F_ADD = 0, F_SUB = 1, F_MUL = 2, F_DIV = 3, F_SQRT = 4, F_MIN = 5, F_MAX = 6, F_CMP = 7,
            F_COMI = 8, F_UCOMI = 9, F_RCP = 10, F_RSQRT = 11;
    static final int CVT = 0x200;
    static final int CVTSI2SS = CVT, CVTSI2SD = CVT + 1, CVTTSS2SI = CVT + 2, CVTTSD2SI = CVT + 3,
            CVTSS2SI = CVT + 4, CVTSD2SI = CVT + 5, CVTPS2PD = CVT + 6, CVTPD2PS = CVT + 7, CVTSS2SD = CVT + 8,
            CVTSD2SS = CVT + 9, CVTDQ2PS = CVT + 10, CVTPS2DQ = CVT + 11, CVTTPS2DQ = CVT + 12,
            CVTDQ2PD = CVT + 13, CVTPD2DQ = CVT + 14, CVTTPD2DQ = CVT + 15;

    private static final String[] FP_NAMES = {"add", "sub", "mul", "div", "sqrt", "min", "max", "cmp"};
    private static final String[] FORMS = {"ps", "pd", "ss", "sd"};

    /** Installs the SSE/SSE2 entries of the 0F map, selected by the mandatory prefix (none, 66, F3, F2). */
    static void install(Entry[] t) {
        sel(t, 0x10, x("movups", "Vx,Wx", MOVUPS), x("movupd", "Vx,Wx", MOVUPS), x("movss", "Vx,Wss", MOVSS),
                x("movsd", "Vx,Wsd", MOVSD));
        sel(t, 0x11, x("movups", "Wx,Vx", MOVUPS_ST), x("movupd", "Wx,Vx", MOVUPS_ST),
                x("movss", "Wss,Vx", MOVSS_ST), x("movsd", "Wsd,Vx", MOVSD_ST));
        sel(t, 0x12, x("movlps", "Vx,Wq", MOVLPS), x("movlpd", "Vx,Mq", MOVLPS), null, null);
        sel(t, 0x13, x("movlps", "Mq,Vx", MOVLPS_ST), x("movlpd", "Mq,Vx", MOVLPS_ST), null, null);
        sel(t, 0x14, x("unpcklps", "Vx,Wx", UNPCKLPS), x("unpcklpd", "Vx,Wx", UNPCKLPD), null, null);
        sel(t, 0x15, x("unpckhps", "Vx,Wx", UNPCKHPS), x("unpckhpd", "Vx,Wx", UNPCKHPD), null, null);
        sel(t, 0x16, x("movhps", "Vx,Wq", MOVHPS), x("movhpd", "Vx,Mq", MOVHPS), null, null);
        sel(t, 0x17, x("movhps", "Mq,Vx", MOVHPS_ST), x("movhpd", "Mq,Vx", MOVHPS_ST), null, null);
        sel(t, 0x28, x("movaps", "Vx,Wx", MOVAPS), x("movapd", "Vx,Wx", MOVAPS), null, null);
        sel(t, 0x29, x("movaps", "Wx,Vx", MOVAPS_ST), x("movapd", "Wx,Vx", MOVAPS_ST), null, null);
        sel(t, 0x2A, null, null, x("cvtsi2ss", "Vx,Ey", CVTSI2SS), x("cvtsi2sd", "Vx,Ey", CVTSI2SD));
        sel(t, 0x2B, x("movntps", "Mx,Vx", MOVNT), x("movntpd", "Mx,Vx", MOVNT), null, null);
        sel(t, 0x2C, null, null, x("cvttss2si", "Gy,Wss", CVTTSS2SI), x("cvttsd2si", "Gy,Wsd", CVTTSD2SI));
        sel(t, 0x2D, null, null, x("cvtss2si", "Gy,Wss", CVTSS2SI), x("cvtsd2si", "Gy,Wsd", CVTSD2SI));
        sel(t, 0x2E, x("ucomiss", "Vx,Wss", FP | F_UCOMI | 2 << 4), x("ucomisd", "Vx,Wsd", FP | F_UCOMI | 3 << 4),
                null, null);
        sel(t, 0x2F, x("comiss", "Vx,Wss", FP | F_COMI | 2 << 4), x("comisd", "Vx,Wsd", FP | F_COMI | 3 << 4),
                null, null);
        sel(t, 0x50, x("movmskps", "Gd,Ux", MOVMSKPS), x("movmskpd", "Gd,Ux", MOVMSKPD), null, null);
        sel(t, 0x54, x("andps", "Vx,Wx", AND), x("andpd", "Vx,Wx", AND), null, null);
        sel(t, 0x55, x("andnps", "Vx,Wx", ANDN), x("andnpd", "Vx,Wx", ANDN), null, null);
        sel(t, 0x56, x("orps", "Vx,Wx", OR), x("orpd", "Vx,Wx", OR), null, null);
        sel(t, 0x57, x("xorps", "Vx,Wx", XOR), x("xorpd", "Vx,Wx", XOR), null, null);
        int[] fpOps = {0x58, F_ADD, 0x59, F_MUL, 0x5C, F_SUB, 0x5D, F_MIN, 0x5E, F_DIV, 0x5F, F_MAX, 0x51, F_SQRT};
        for (int i = 0; i < fpOps.length; i += 2) {
            Entry[] forms = new Entry[4];
            for (int f = 0; f < 4; f++) {
                String src = f < 2 ? "Wx" : f == 2 ? "Wss" : "Wsd";
                forms[f] = x(FP_NAMES[fpOps[i + 1]] + FORMS[f], "Vx," + src, FP | fpOps[i + 1] | f << 4);
            }
            sel(t, fpOps[i], forms[0], forms[1], forms[2], forms[3]);
        }
        // approximations (SDM RCPPS/RSQRTPS: relative error at most 1.5 * 2^-12): here correctly rounded
        sel(t, 0x53, x("rcpps", "Vx,Wx", FP | F_RCP), null, x("rcpss", "Vx,Wss", FP | F_RCP | 2 << 4), null);
        sel(t, 0x52, x("rsqrtps", "Vx,Wx", FP | F_RSQRT), null, x("rsqrtss", "Vx,Wss", FP | F_RSQRT | 2 << 4), null);
        sel(t, 0xC2, x("cmpps", "Vx,Wx,Ib", FP | F_CMP), x("cmppd", "Vx,Wx,Ib", FP | F_CMP | 1 << 4),
                x("cmpss", "Vx,Wss,Ib", FP | F_CMP | 2 << 4), x("cmpsd", "Vx,Wsd,Ib", FP | F_CMP | 3 << 4));
        sel(t, 0x5A, x("cvtps2pd", "Vx,Wq", CVTPS2PD), x("cvtpd2ps", "Vx,Wx", CVTPD2PS),
                x("cvtss2sd", "Vx,Wss", CVTSS2SD), x("cvtsd2ss", "Vx,Wsd", CVTSD2SS));
        sel(t, 0x5B, x("cvtdq2ps", "Vx,Wx", CVTDQ2PS), x("cvtps2dq", "Vx,Wx", CVTPS2DQ),
                x("cvttps2dq", "Vx,Wx", CVTTPS2DQ), null);
        sel(t, 0xE6, null, x("cvttpd2dq", "Vx,Wx", CVTTPD2DQ), x("cvtdq2pd", "Vx,Wq", CVTDQ2PD),
                x("cvtpd2dq", "Vx,Wx", CVTPD2DQ));
        sel(t, 0xC6, x("shufps", "Vx,Wx,Ib", SHUFPS), x("shufpd", "Vx,Wx,Ib", SHUFPD), null, null);
        // packed integer: 66 only (the unprefixed MMX forms are not implemented)
        Object[] ints = {0x60, "punpcklbw", PUNPCKLBW, 0x61, "punpcklwd", PUNPCKLWD, 0x62, "punpckldq", PUNPCKLDQ,
            0x63, "packsswb", PACKSSWB, 0x64, "pcmpgtb", PCMPGTB, 0x65, "pcmpgtw", PCMPGTW, 0x66, "pcmpgtd", PCMPGTD,
            0x67, "packuswb", PACKUSWB, 0x68, "punpckhbw", PUNPCKHBW, 0x69, "punpckhwd", PUNPCKHWD,
            0x6A, "punpckhdq", PUNPCKHDQ, 0x6B, "packssdw", PACKSSDW, 0x6C, "punpcklqdq", PUNPCKLQDQ,
            0x6D, "punpckhqdq", PUNPCKHQDQ, 0x74, "pcmpeqb", PCMPEQB, 0x75, "pcmpeqw", PCMPEQW,
            0x76, "pcmpeqd", PCMPEQD, 0xD1, "psrlw", PSRLW, 0xD2, "psrld", PSRLD, 0xD3, "psrlq", PSRLQ,
            0xD4, "paddq", PADDQ, 0xD5, "pmullw", PMULLW, 0xD8, "psubusb", PSUBUSB, 0xD9, "psubusw", PSUBUSW,
            0xDA, "pminub", PMINUB, 0xDB, "pand", AND, 0xDC, "paddusb", PADDUSB, 0xDD, "paddusw", PADDUSW,
            0xDE, "pmaxub", PMAXUB, 0xDF, "pandn", ANDN, 0xE0, "pavgb", PAVGB, 0xE1, "psraw", PSRAW,
            0xE2, "psrad", PSRAD, 0xE3, "pavgw", PAVGW, 0xE4, "pmulhuw", PMULHUW, 0xE5, "pmulhw", PMULHW,
            0xE8, "psubsb", PSUBSB, 0xE9, "psubsw", PSUBSW, 0xEA, "pminsw", PMINSW, 0xEB, "por", OR,
            0xEC, "paddsb", PADDSB, 0xED, "paddsw", PADDSW, 0xEE, "pmaxsw", PMAXSW, 0xEF, "pxor", XOR,
            0xF1, "psllw", PSLLW, 0xF2, "pslld", PSLLD, 0xF3, "psllq", PSLLQ, 0xF4, "pmuludq", PMULUDQ,
            0xF5, "pmaddwd", PMADDWD, 0xF6, "psadbw", PSADBW, 0xF8, "psubb", PSUBB, 0xF9, "psubw", PSUBW,
            0xFA, "psubd", PSUBD, 0xFB, "psubq", PSUBQ, 0xFC, "paddb", PADDB, 0xFD, "paddw", PADDW,
            0xFE, "paddd", PADDD};
        for (int i = 0; i < ints.length; i += 3) {
            sel(t, (Integer) ints[i], null, x((String) ints[i + 1], "Vx,Wx", (Integer) ints[i + 2]), null, null);
        }
        sel(t, 0x6E, null, x("movd", "Vx,Ey", MOVD_TO), null, null);
        sel(t, 0x7E, null, x("movd", "Ey,Vx", MOVD_FROM), x("movq", "Vx,Wq", MOVQ_LOAD), null);
        sel(t, 0xD6, null, x("movq", "Wq,Vx", MOVQ_STORE), null, null);
        sel(t, 0x6F, null, x("movdqa", "Vx,Wx", MOVAPS), x("movdqu", "Vx,Wx", MOVDQU), null);
        sel(t, 0x7F, null, x("movdqa", "Wx,Vx", MOVAPS_ST), x("movdqu", "Wx,Vx", MOVDQU_ST), null);
        sel(t, 0x70, null, x("pshufd", "Vx,Wx,Ib", PSHUFD), x("pshufhw", "Vx,Wx,Ib", PSHUFHW),
                x("pshuflw", "Vx,Wx,Ib", PSHUFLW));
        sel(t, 0x71, null, shiftGroup(null, null, null, null, "psrlw", PSRLW_I, null, null, "psraw", PSRAW_I, null, null,
                "psllw", PSLLW_I, null, null), null, null);
        sel(t, 0x72, null, shiftGroup(null, null, null, null, "psrld", PSRLD_I, null, null, "psrad", PSRAD_I, null, null,
                "pslld", PSLLD_I, null, null), null, null);
        sel(t, 0x73, null, shiftGroup(null, null, null, null, "psrlq", PSRLQ_I, "psrldq", PSRLDQ, null, null, null, null,
                "psllq", PSLLQ_I, "pslldq", PSLLDQ), null, null);
        sel(t, 0xC4, null, x("pinsrw", "Vx,Ew,Ib", PINSRW), null, null);
        sel(t, 0xC5, null, x("pextrw", "Gd,Ux,Ib", PEXTRW), null, null);
        sel(t, 0xD7, null, x("pmovmskb", "Gd,Ux", PMOVMSKB), null, null);
        sel(t, 0xE7, null, x("movntdq", "Mx,Vx", MOVNT), null, null);
        sel(t, 0xF7, null, x("maskmovdqu", "Vx,Ux", MASKMOVDQU), null, null);
    }

    private static Entry x(String m, String operands, int aux) {
        return new Entry(m, Op.SSE, operands, OpcodeTable.SSE_OPS, aux);
    }

    private static Entry shiftGroup(Object... regs) {
        Entry g = new Entry("grp", Op.UD, "", OpcodeTable.SSE_OPS, 0);
        g.group = new Entry[8];
        for (int r = 0; r < 8; r++) {
            String m = (String) regs[2 * r];
            g.group[r] = m == null ? null : x(m, "Ux,Ib", (Integer) regs[2 * r + 1]);
        }
        return g;
    }

    private static void sel(Entry[] t, int opcode, Entry none, Entry p66, Entry f3, Entry f2) {
        Entry[] by = {none, p66, f3, f2};
        boolean imm = false;
        for (Entry e : by) {
            imm |= e != null && e.kinds.length > 0 && e.kinds[e.kinds.length - 1] == OpcodeTable.K_I;
            imm |= e != null && e.group != null;
        }
        for (int i = 0; i < 4; i++) {
            if (by[i] == null) {
                by[i] = imm ? Decoder.BAD_MI : Decoder.BAD_M; // still decoded to its full length
            }
        }
        Entry s = new Entry("sse", Op.UD, "", 0, 0);
        s.byPrefix = by;
        t[opcode] = s;
    }

    // ---- execution -----------------------------------------------------------------------------------------------

    private final Cpu cpu;
    private final Interp in;
    private final FpuState f;
    private final long[] x;
    final SoftFloat sf = new SoftFloat();
    /** The source operand (bits 63:0 and 127:64) and the result being built. */
    private long lo, hi;
    /** Scratch for PACKSS/PACKUS and FXSAVE/FXRSTOR: no allocation per instruction. */
    private final long[] packSources = new long[4];
    private final byte[] image = new byte[512];

    Sse(Cpu cpu, Interp in) {
        this.cpu = cpu;
        this.in = in;
        this.f = cpu.s.fpu;
        this.x = f.xmm;
    }

    void execute(Insn d) {
        CpuState s = cpu.s;
        int op = d.aux;
        if (op == FXSAVE || op == FXRSTOR) {
            if ((s.cr0 & 0xC) != 0) {
                throw cpu.fault(GuestFault.NM, 0); // SDM FXSAVE: #NM for CR0.TS or CR0.EM
            }
            fxsaveRestore(d, op);
            return;
        }
        if ((s.cr0 & 4) != 0 || (s.cr4 & 0x200) == 0) {
            throw cpu.fault(GuestFault.UD, 0);
        }
        if ((s.cr0 & 8) != 0) {
            throw cpu.fault(GuestFault.NM, 0);
        }
        if (op >= CVT) {
            convert(d, op);
        } else if (op >= FP) {
            floating(d, op);
        } else if (op >= UNPCKLPS) {
            integer(d, op);
        } else {
            move(d, op);
        }
    }

    // ---- memory and register operands ----

    private boolean user() {
        return cpu.cpl == 3;
    }

    private long linear(Insn d, int size, int acc, boolean aligned) {
        long lin = cpu.linear(d.seg, in.ea(d), size, acc);
        if (aligned && (lin & (size - 1)) != 0) {
            throw cpu.fault(GuestFault.GP, 0);
        }
        return lin;
    }

    /** Loads the r/m source (XMM register or memory) of {@code size} bytes into lo/hi. */
    private void load(Insn d, int size, boolean aligned) {
        if (!d.mem) {
            lo = x[2 * d.rm];
            hi = x[2 * d.rm + 1];
            return;
        }
        long lin = linear(d, size, Mmu.READ, aligned && size == 16);
        if (size == 16) {
            lo = cpu.mmu.read(lin, 8, user());
            hi = cpu.mmu.read(lin + 8, 8, user());
        } else {
            lo = cpu.mmu.read(lin, size, user());
            hi = 0;
        }
    }

    private void store(Insn d, int size, long vlo, long vhi, boolean aligned) {
        long lin = linear(d, size, Mmu.WRITE, aligned && size == 16);
        if (size == 16) {
            cpu.mmu.translateWrite(lin, 16, user());
            cpu.mmu.write(lin, 8, vlo, user());
            cpu.mmu.write(lin + 8, 8, vhi, user());
        } else {
            cpu.mmu.write(lin, size, vlo, user());
        }
    }

    private void requireMemory(Insn d) {
        if (!d.mem) {
            throw cpu.fault(GuestFault.UD, 0);
        }
    }

    private void requireRegister(Insn d) {
        if (d.mem) {
            throw cpu.fault(GuestFault.UD, 0);
        }
    }

    private void move(Insn d, int op) {
        int v = 2 * d.reg;
        switch (op) {
            case MOVUPS, MOVAPS, MOVDQU -> {
                load(d, 16, op == MOVAPS);
                x[v] = lo;
                x[v + 1] = hi;
            }
            case MOVUPS_ST, MOVAPS_ST, MOVDQU_ST -> {
                if (d.mem) {
                    store(d, 16, x[v], x[v + 1], op == MOVAPS_ST);
                } else {
                    x[2 * d.rm] = x[v];
                    x[2 * d.rm + 1] = x[v + 1];
                }
            }
            case MOVNT -> {
                requireMemory(d);
                store(d, 16, x[v], x[v + 1], true);
            }
            case MOVSS -> {
                load(d, 4, false);
                if (d.mem) {
                    x[v] = lo & 0xFFFF_FFFFL;
                    x[v + 1] = 0;
                } else {
                    x[v] = (x[v] & ~0xFFFF_FFFFL) | (lo & 0xFFFF_FFFFL);
                }
            }
            case MOVSS_ST -> {
                if (d.mem) {
                    store(d, 4, x[v], 0, false);
                } else {
                    int r = 2 * d.rm;
                    x[r] = (x[r] & ~0xFFFF_FFFFL) | (x[v] & 0xFFFF_FFFFL);
                }
            }
            case MOVSD -> {
                load(d, 8, false);
                x[v] = lo;
                if (d.mem) {
                    x[v + 1] = 0;
                }
            }
            case MOVSD_ST, MOVQ_STORE -> {
                if (d.mem) {
                    store(d, 8, x[v], 0, false);
                } else {
                    x[2 * d.rm] = x[v];
                    if (op == MOVQ_STORE) {
                        x[2 * d.rm + 1] = 0;
                    }
                }
            }
            case MOVQ_LOAD -> {
                load(d, 8, false);
                x[v] = lo;
                x[v + 1] = 0;
            }
            case MOVLPS -> {
                // with a register source: MOVHLPS (no prefix); 66 0F 12 has only the memory form
                load(d, 8, false);
                x[v] = d.mem ? lo : hi;
            }
            case MOVHPS -> {
                load(d, 8, false); // with a register source: MOVLHPS
                x[v + 1] = lo;
            }
            case MOVLPS_ST -> {
                requireMemory(d);
                store(d, 8, x[v], 0, false);
            }
            case MOVHPS_ST -> {
                requireMemory(d);
                store(d, 8, x[v + 1], 0, false);
            }
            case MOVMSKPS -> {
                requireRegister(d);
                long a = x[2 * d.rm], b = x[2 * d.rm + 1];
                long m = (a >>> 31 & 1) | (a >>> 62 & 2) | (b >>> 29 & 4) | (b >>> 60 & 8);
                in.setReg(d.reg, d.osize == 8 ? 8 : 4, m, d.rex);
            }
            case MOVMSKPD -> {
                requireRegister(d);
                long m = (x[2 * d.rm] >>> 63) | (x[2 * d.rm + 1] >>> 62 & 2);
                in.setReg(d.reg, d.osize == 8 ? 8 : 4, m, d.rex);
            }
            case PMOVMSKB -> {
                requireRegister(d);
                long m = byteSigns(x[2 * d.rm]) | byteSigns(x[2 * d.rm + 1]) << 8;
                in.setReg(d.reg, d.osize == 8 ? 8 : 4, m, d.rex);
            }
            case MOVD_TO -> {
                int size = d.osize == 8 ? 8 : 4;
                x[v] = in.readE(d, size);
                x[v + 1] = 0;
            }
            case MOVD_FROM -> {
                int size = d.osize == 8 ? 8 : 4;
                in.writeE(d, size, x[v] & Interp.mask(size));
            }
            case PINSRW -> {
                long w = d.mem ? in.readE(d, 2) : in.getReg(d.rm, 2, false);
                int sh = (int) (d.imm & 7) * 16;
                int i = v + (sh >> 6);
                x[i] = (x[i] & ~(0xFFFFL << (sh & 63))) | (w & 0xFFFF) << (sh & 63);
            }
            case PEXTRW -> {
                requireRegister(d);
                int sh = (int) (d.imm & 7) * 16;
                in.setReg(d.reg, d.osize == 8 ? 8 : 4, x[2 * d.rm + (sh >> 6)] >>> (sh & 63) & 0xFFFF, d.rex);
            }
            case MASKMOVDQU -> {
                requireRegister(d);
                long base = cpu.s.r[7] & (d.asize == 8 ? -1L : d.asize == 4 ? 0xFFFF_FFFFL : 0xFFFF);
                int seg = d.segOverride ? d.seg : DS;
                for (int i = 0; i < 16; i++) {
                    long mask = x[2 * d.rm + (i >> 3)] >>> ((i & 7) * 8 + 7) & 1;
                    if (mask != 0) {
                        cpu.write(seg, base + i, 1, x[v + (i >> 3)] >>> ((i & 7) * 8));
                    }
                }
            }
            case LDMXCSR -> {
                long val = cpu.read(d.seg, in.ea(d), 4);
                if ((val & ~FpuState.MXCSR_MASK) != 0) {
                    throw cpu.fault(GuestFault.GP, 0);
                }
                f.mxcsr = (int) val;
            }
            default -> cpu.write(d.seg, in.ea(d), 4, f.mxcsr); // STMXCSR
        }
    }

    private static long byteSigns(long v) {
        long m = 0;
        for (int i = 0; i < 8; i++) {
            m |= (v >>> (8 * i + 7) & 1) << i;
        }
        return m;
    }

    /** FXSAVE/FXRSTOR (SDM Vol. 2A): a 16-byte-aligned 512-byte image; REX.W selects the 64-bit pointer layout. */
    private void fxsaveRestore(Insn d, int op) {
        byte[] img = image;
        long lin = linear(d, 512, op == FXSAVE ? Mmu.WRITE : Mmu.READ, false);
        if ((lin & 15) != 0) {
            throw cpu.fault(GuestFault.GP, 0);
        }
        boolean rexW = d.osize == 8;
        if (op == FXSAVE) {
            cpu.mmu.translateWrite(lin, 1, user());
            cpu.mmu.translateWrite(lin + 511, 1, user());
            // bytes 464-511 are left to software and 416-463 reserved: FXSAVE does not write them
            f.fxsave(img, rexW);
            for (int i = 0; i < 416; i += 8) {
                cpu.mmu.write(lin + i, 8, FpuState.getLong(img, i), user());
            }
            return;
        }
        for (int i = 0; i < 416; i += 8) {
            FpuState.putLong(img, i, cpu.mmu.read(lin + i, 8, user()));
        }
        if ((FpuState.getInt(img, 24) & ~FpuState.MXCSR_MASK) != 0) {
            throw cpu.fault(GuestFault.GP, 0);
        }
        f.fxrstor(img, rexW);
    }

    // ---- packed integer ----

    private static long lane(long v, int i, int bits) {
        return bits == 64 ? v : v >>> (i * bits) & ((1L << bits) - 1);
    }

    private void integer(Insn d, int op) {
        int v = 2 * d.reg;
        boolean immForm = op >= PSRLW_I;
        if (immForm) {
            requireRegister(d);
            v = 2 * d.rm;
            lo = d.imm & 0xFF;
            hi = 0;
        } else {
            load(d, 16, true);
        }
        long a0 = x[v], a1 = x[v + 1], b0 = lo, b1 = hi;
        long r0, r1;
        switch (op) {
            case AND -> {
                r0 = a0 & b0;
                r1 = a1 & b1;
            }
            case ANDN -> {
                r0 = ~a0 & b0;
                r1 = ~a1 & b1;
            }
            case OR -> {
                r0 = a0 | b0;
                r1 = a1 | b1;
            }
            case XOR -> {
                r0 = a0 ^ b0;
                r1 = a1 ^ b1;
            }
            case PCMPEQB -> {
                r0 = zeroBytes(a0 ^ b0);
                r1 = zeroBytes(a1 ^ b1);
            }
            case UNPCKLPS, PUNPCKLDQ -> {
                r0 = (a0 & 0xFFFF_FFFFL) | b0 << 32;
                r1 = (a0 >>> 32) | b0 & 0xFFFF_FFFF_0000_0000L;
            }
            case UNPCKHPS, PUNPCKHDQ -> {
                r0 = (a1 & 0xFFFF_FFFFL) | b1 << 32;
                r1 = (a1 >>> 32) | b1 & 0xFFFF_FFFF_0000_0000L;
            }
            case UNPCKLPD, PUNPCKLQDQ -> {
                r0 = a0;
                r1 = b0;
            }
            case UNPCKHPD, PUNPCKHQDQ -> {
                r0 = a1;
                r1 = b1;
            }
            case PUNPCKLBW, PUNPCKLWD, PUNPCKHBW, PUNPCKHWD -> {
                int bits = op == PUNPCKLBW || op == PUNPCKHBW ? 8 : 16;
                long sa = op == PUNPCKLBW || op == PUNPCKLWD ? a0 : a1;
                long sb = op == PUNPCKLBW || op == PUNPCKLWD ? b0 : b1;
                r0 = 0;
                r1 = 0;
                int n = 64 / bits;
                for (int i = 0; i < n; i++) {
                    long e = lane(sa, i, bits) | lane(sb, i, bits) << bits;
                    int pos = i * 2 * bits;
                    if (pos < 64) {
                        r0 |= e << pos;
                    } else {
                        r1 |= e << (pos - 64);
                    }
                }
            }
            case PACKSSWB, PACKUSWB, PACKSSDW -> {
                int bits = op == PACKSSDW ? 32 : 16;
                long[] src = packSources;
                src[0] = a0;
                src[1] = a1;
                src[2] = b0;
                src[3] = b1;
                int n = 128 / bits; // elements in each source
                r0 = 0;
                r1 = 0;
                for (int i = 0; i < 2 * n; i++) {
                    long e = Interp.sext(lane(src[i / (n / 2)], i % (n / 2), bits), bits / 8);
                    long sat = op == PACKUSWB ? Math.max(0, Math.min(255, e))
                            : Math.max(-(1L << (bits / 2 - 1)), Math.min((1L << (bits / 2 - 1)) - 1, e));
                    sat &= (1L << (bits / 2)) - 1;
                    int pos = i * bits / 2;
                    if (pos < 64) {
                        r0 |= sat << pos;
                    } else {
                        r1 |= sat << (pos - 64);
                    }
                }
            }
            case PSHUFD -> {
                int o = (int) d.imm;
                r0 = dword(lo, hi, o) | dword(lo, hi, o >> 2) << 32;
                r1 = dword(lo, hi, o >> 4) | dword(lo, hi, o >> 6) << 32;
            }
            case PSHUFHW, PSHUFLW -> {
                long w = op == PSHUFHW ? hi : lo;
                int o = (int) d.imm;
                long r = 0;
                for (int i = 0; i < 4; i++) {
                    r |= lane(w, o >> (2 * i) & 3, 16) << (16 * i);
                }
                r0 = op == PSHUFHW ? lo : r;
                r1 = op == PSHUFHW ? r : hi;
            }
            case SHUFPS -> {
                int o = (int) d.imm;
                r0 = dword(a0, a1, o) | dword(a0, a1, o >> 2) << 32;
                r1 = dword(b0, b1, o >> 4) | dword(b0, b1, o >> 6) << 32;
            }
            case SHUFPD -> {
                r0 = (d.imm & 1) == 0 ? a0 : a1;
                r1 = (d.imm & 2) == 0 ? b0 : b1;
            }
            case PSRLDQ, PSLLDQ -> {
                int n = (int) Math.min(d.imm & 0xFF, 16) * 8;
                if (op == PSRLDQ) {
                    r0 = n >= 128 ? 0 : n >= 64 ? a1 >>> (n - 64) : n == 0 ? a0 : a0 >>> n | a1 << (64 - n);
                    r1 = n >= 64 ? 0 : a1 >>> n;
                } else {
                    r1 = n >= 128 ? 0 : n >= 64 ? a0 << (n - 64) : n == 0 ? a1 : a1 << n | a0 >>> (64 - n);
                    r0 = n >= 64 ? 0 : a0 << n;
                }
            }
            case PSADBW -> {
                r0 = sad(a0, b0);
                r1 = sad(a1, b1);
            }
            case PMULUDQ -> {
                r0 = (a0 & 0xFFFF_FFFFL) * (b0 & 0xFFFF_FFFFL);
                r1 = (a1 & 0xFFFF_FFFFL) * (b1 & 0xFFFF_FFFFL);
            }
            case PMADDWD -> {
                r0 = maddwd(a0, b0);
                r1 = maddwd(a1, b1);
            }
            default -> {
                if (op >= PSRLW) {
                    long count = op >= PSRLW_I ? b0 : b0; // the count is the whole low quadword
                    r0 = shift(op, a0, count);
                    r1 = shift(op, a1, count);
                } else {
                    r0 = lanes(op, a0, b0);
                    r1 = lanes(op, a1, b1);
                }
            }
        }
        x[v] = r0;
        x[v + 1] = r1;
    }

    /** Doubleword {@code sel & 3} of the 128-bit value lo:hi. */
    private static long dword(long lo, long hi, int sel) {
        long q = (sel & 2) == 0 ? lo : hi;
        return (sel & 1) == 0 ? q & 0xFFFF_FFFFL : q >>> 32;
    }

    private static long zeroBytes(long v) {
        long y = (v & 0x7F7F_7F7F_7F7F_7F7FL) + 0x7F7F_7F7F_7F7F_7F7FL;
        y = ~(y | v | 0x7F7F_7F7F_7F7F_7F7FL);
        return (y >>> 7) * 0xFF;
    }

    private static long sad(long a, long b) {
        long s = 0;
        for (int i = 0; i < 8; i++) {
            s += Math.abs(lane(a, i, 8) - lane(b, i, 8));
        }
        return s;
    }

    private static long maddwd(long a, long b) {
        long r = 0;
        for (int i = 0; i < 2; i++) {
            long p = (long) (short) lane(a, 2 * i, 16) * (short) lane(b, 2 * i, 16)
                    + (long) (short) lane(a, 2 * i + 1, 16) * (short) lane(b, 2 * i + 1, 16);
            r |= (p & 0xFFFF_FFFFL) << (32 * i);
        }
        return r;
    }

    private static int elementBits(int op) {
        return switch (op) {
            case PSRLW, PSRAW, PSLLW, PSRLW_I, PSRAW_I, PSLLW_I -> 16;
            case PSRLD, PSRAD, PSLLD, PSRLD_I, PSRAD_I, PSLLD_I -> 32;
            default -> 64;
        };
    }

    private static long shift(int op, long a, long count) {
        int bits = elementBits(op);
        int kind = switch (op) {
            case PSRLW, PSRLD, PSRLQ, PSRLW_I, PSRLD_I, PSRLQ_I -> 0;
            case PSRAW, PSRAD, PSRAW_I, PSRAD_I -> 1;
            default -> 2;
        };
        boolean big = Long.compareUnsigned(count, bits - 1) > 0;
        int c = (int) count;
        long r = 0;
        for (int i = 0; i < 64 / bits; i++) {
            long e = lane(a, i, bits);
            long res = switch (kind) {
                case 0 -> big ? 0 : e >>> c;
                case 1 -> Interp.sext(e, bits / 8) >> (big ? bits - 1 : c);
                default -> big ? 0 : e << c;
            };
            r |= (bits == 64 ? res : res & ((1L << bits) - 1)) << (i * bits);
        }
        return r;
    }

    private static int laneBits(int op) {
        return switch (op) {
            case PADDB, PSUBB, PADDSB, PADDUSB, PSUBSB, PSUBUSB, PMINUB, PMAXUB, PAVGB, PCMPGTB, PCMPEQB -> 8;
            case PADDD, PSUBD, PCMPGTD, PCMPEQD -> 32;
            case PADDQ, PSUBQ -> 64;
            default -> 16;
        };
    }

    private static long lanes(int op, long a, long b) {
        int bits = laneBits(op);
        long m = bits == 64 ? -1L : (1L << bits) - 1;
        long smin = -(1L << (bits - 1)), smax = (1L << (bits - 1)) - 1;
        long r = 0;
        for (int i = 0; i < 64 / bits; i++) {
            long ea = lane(a, i, bits), eb = lane(b, i, bits);
            long sa = Interp.sext(ea, bits / 8), sb = Interp.sext(eb, bits / 8);
            long res = switch (op) {
                case PADDB, PADDW, PADDD, PADDQ -> ea + eb;
                case PSUBB, PSUBW, PSUBD, PSUBQ -> ea - eb;
                case PADDSB, PADDSW -> Math.max(smin, Math.min(smax, sa + sb));
                case PSUBSB, PSUBSW -> Math.max(smin, Math.min(smax, sa - sb));
                case PADDUSB, PADDUSW -> Math.min(m, ea + eb);
                case PSUBUSB, PSUBUSW -> Math.max(0, ea - eb);
                case PMINUB -> Math.min(ea, eb);
                case PMAXUB -> Math.max(ea, eb);
                case PMINSW -> Math.min(sa, sb);
                case PMAXSW -> Math.max(sa, sb);
                case PAVGB, PAVGW -> (ea + eb + 1) >> 1;
                case PMULLW -> sa * sb;
                case PMULHW -> sa * sb >> 16;
                case PMULHUW -> ea * eb >>> 16;
                case PCMPGTB, PCMPGTW, PCMPGTD -> sa > sb ? -1 : 0;
                case PCMPEQW, PCMPEQD -> ea == eb ? -1 : 0;
                default -> throw new IllegalStateException("lane op " + op);
            };
            r |= (res & m) << (i * bits);
        }
        return r;
    }

    // ---- floating point ----

    private void prepare() {
        int mx = f.mxcsr;
        sf.rc = mx >> 13 & 3;
        sf.daz = (mx & 0x40) != 0;
        sf.ftz = (mx & 0x8000) != 0;
        sf.umask = mx >> 7 & 0x3F;
        sf.flags = 0;
    }

    /** Merges the flags of an operation; an unmasked one raises #XM (or #UD) before anything is written. */
    private void commit() {
        int fl = sf.flags;
        if ((fl & ~(f.mxcsr >> 7) & (SoftFloat.IE | SoftFloat.DE | SoftFloat.ZE)) != 0) {
            // an unmasked pre-computation exception: no post-computation ones are checked (SDM Vol. 1 11.5.2)
            fl &= SoftFloat.IE | SoftFloat.DE | SoftFloat.ZE;
        }
        f.mxcsr |= fl;
        if ((fl & ~(f.mxcsr >> 7) & 0x3F) != 0) {
            throw cpu.fault((cpu.s.cr4 & 0x400) != 0 ? GuestFault.XM : GuestFault.UD, 0);
        }
    }

    private long elem(int fmt, int op, long a, long b, int imm) {
        SoftFloat s = sf;
        int bits = fmt == SoftFloat.F32 ? 32 : 64;
        long m = bits == 64 ? -1L : 0xFFFF_FFFFL;
        SoftFloat.Val va = s.unpack(fmt, a, 0);
        SoftFloat.Val vb = s.unpack(fmt, b, 0);
        int p = SoftFloat.precision(fmt);
        return switch (op) {
            case F_ADD -> s.arith(SoftFloat.ADD, fmt, p, va, vb) & m;
            case F_SUB -> s.arith(SoftFloat.SUB, fmt, p, va, vb) & m;
            case F_MUL -> s.arith(SoftFloat.MUL, fmt, p, va, vb) & m;
            case F_DIV -> s.arith(SoftFloat.DIV, fmt, p, va, vb) & m;
            case F_SQRT -> s.sqrt(fmt, p, vb) & m;
            case F_RCP, F_RSQRT -> approximate(op, b);
            case F_MIN, F_MAX -> {
                // SDM MINPS/MAXPS: NaN or equal operands (+0/-0 too) return the second source
                int c = s.compare(va, vb, true);
                boolean first = op == F_MIN ? c == -1 : c == 1;
                long r = first ? a : b;
                SoftFloat.Val rv = first ? va : vb;
                yield rv.kind == SoftFloat.ZERO ? r & ~(m >>> 1) : r; // a denormal flushed by DAZ is returned as zero
            }
            default -> { // CMPccPS (imm8 2:0): EQ LT LE UNORD NEQ NLT NLE ORD
                int pred = imm & 7;
                boolean signalQuiet = pred == 1 || pred == 2 || pred == 5 || pred == 6;
                int c = s.compare(va, vb, signalQuiet);
                boolean t = switch (pred) {
                    case 0 -> c == 0;
                    case 1 -> c == -1;
                    case 2 -> c == -1 || c == 0;
                    case 3 -> c == 2;
                    case 4 -> c != 0;
                    case 5 -> c != -1;
                    case 6 -> c == 1 || c == 2;
                    default -> c != 2;
                };
                yield t ? m : 0;
            }
        };
    }

    private final SoftFloat approx = new SoftFloat();

    /**
     * RCPPS/RSQRTPS element: no exceptions and MXCSR untouched; denormal inputs count as zero and results in
     * the denormal range are flushed to zero, as the hardware's table-based approximation does.
     */
    private long approximate(int op, long bits) {
        SoftFloat a = approx;
        a.rc = 0;
        a.daz = true;
        a.ftz = true;
        a.umask = 0x3F;
        SoftFloat.Val one = a.unpack(SoftFloat.F32, 0x3F80_0000L, 0);
        SoftFloat.Val v = a.unpack(SoftFloat.F32, bits, 0);
        if (op == F_RSQRT) {
            long root = a.sqrt(SoftFloat.F64, 53, a.unpack(SoftFloat.F32, bits, 0));
            v = a.unpack(SoftFloat.F64, root, 0);
        }
        return a.arith(SoftFloat.DIV, SoftFloat.F32, 24, one, v) & 0xFFFF_FFFFL;
    }

    private void floating(Insn d, int aux) {
        int op = aux & 15;
        int form = aux >> 4 & 3;
        int v = 2 * d.reg;
        int fmt = (form & 1) == 0 ? SoftFloat.F32 : SoftFloat.F64;
        boolean scalar = form >= 2;
        load(d, scalar ? (fmt == SoftFloat.F32 ? 4 : 8) : 16, true);
        prepare();
        int imm = (int) d.imm;
        if (op == F_COMI || op == F_UCOMI) {
            SoftFloat.Val va = sf.unpack(fmt, x[v], 0), vb = sf.unpack(fmt, lo, 0);
            int c = sf.compare(va, vb, op == F_COMI);
            commit();
            long fl = switch (c) {
                case -1 -> CF;
                case 0 -> ZF;
                case 1 -> 0;
                default -> ZF | PF | CF;
            };
            cpu.s.setArith(fl);
            return;
        }
        long a0 = x[v], a1 = x[v + 1];
        long r0, r1;
        if (fmt == SoftFloat.F32) {
            r0 = elem(fmt, op, a0 & 0xFFFF_FFFFL, lo & 0xFFFF_FFFFL, imm);
            if (scalar) {
                r0 = (a0 & ~0xFFFF_FFFFL) | r0;
                r1 = a1;
            } else {
                r0 |= elem(fmt, op, a0 >>> 32, lo >>> 32, imm) << 32;
                r1 = elem(fmt, op, a1 & 0xFFFF_FFFFL, hi & 0xFFFF_FFFFL, imm)
                        | elem(fmt, op, a1 >>> 32, hi >>> 32, imm) << 32;
            }
        } else {
            r0 = elem(fmt, op, a0, lo, imm);
            r1 = scalar ? a1 : elem(fmt, op, a1, hi, imm);
        }
        commit();
        x[v] = r0;
        x[v + 1] = r1;
    }

    // ---- conversions ----

    private long cvtElem(int fromFmt, int toFmt, long bits) {
        SoftFloat.Val a = sf.unpack(fromFmt, bits, 0);
        return sf.convert(toFmt, a) & (toFmt == SoftFloat.F32 ? 0xFFFF_FFFFL : -1L);
    }

    private long toInt32(int fmt, long bits, boolean truncate) {
        return sf.toInt(sf.unpack(fmt, bits, 0), 32, truncate) & 0xFFFF_FFFFL;
    }

    private void convert(Insn d, int op) {
        int v = 2 * d.reg;
        prepare();
        long a0 = x[v], a1 = x[v + 1];
        long r0 = a0, r1 = a1;
        final int s32 = SoftFloat.F32, s64 = SoftFloat.F64;
        switch (op) {
            case CVTSI2SS, CVTSI2SD -> {
                int size = d.osize == 8 ? 8 : 4;
                long iv = Interp.sext(in.readE(d, size), size);
                if (op == CVTSI2SS) {
                    r0 = (a0 & ~0xFFFF_FFFFL) | sf.fromLong(s32, 24, iv) & 0xFFFF_FFFFL;
                } else {
                    r0 = sf.fromLong(s64, 53, iv);
                }
            }
            case CVTTSS2SI, CVTSS2SI, CVTTSD2SI, CVTSD2SI -> {
                int fmt = op == CVTTSS2SI || op == CVTSS2SI ? s32 : s64;
                load(d, fmt == s32 ? 4 : 8, false);
                int size = d.osize == 8 ? 8 : 4;
                long iv = sf.toInt(sf.unpack(fmt, fmt == s32 ? lo & 0xFFFF_FFFFL : lo, 0), size * 8,
                        op == CVTTSS2SI || op == CVTTSD2SI);
                commit();
                in.setReg(d.reg, size, iv, d.rex);
                return;
            }
            case CVTPS2PD -> {
                load(d, 8, false);
                r0 = cvtElem(s32, s64, lo & 0xFFFF_FFFFL);
                r1 = cvtElem(s32, s64, lo >>> 32);
            }
            case CVTPD2PS -> {
                load(d, 16, true);
                r0 = cvtElem(s64, s32, lo) | cvtElem(s64, s32, hi) << 32;
                r1 = 0;
            }
            case CVTSS2SD -> {
                load(d, 4, false);
                r0 = cvtElem(s32, s64, lo & 0xFFFF_FFFFL);
            }
            case CVTSD2SS -> {
                load(d, 8, false);
                r0 = (a0 & ~0xFFFF_FFFFL) | cvtElem(s64, s32, lo);
            }
            case CVTDQ2PS -> {
                load(d, 16, true);
                r0 = fromInt32(lo) | fromInt32(lo >>> 32) << 32;
                r1 = fromInt32(hi) | fromInt32(hi >>> 32) << 32;
            }
            case CVTPS2DQ, CVTTPS2DQ -> {
                load(d, 16, true);
                boolean t = op == CVTTPS2DQ;
                r0 = toInt32(s32, lo & 0xFFFF_FFFFL, t) | toInt32(s32, lo >>> 32, t) << 32;
                r1 = toInt32(s32, hi & 0xFFFF_FFFFL, t) | toInt32(s32, hi >>> 32, t) << 32;
            }
            case CVTDQ2PD -> {
                load(d, 8, false);
                r0 = sf.fromLong(s64, 53, (int) lo);
                r1 = sf.fromLong(s64, 53, (int) (lo >>> 32));
            }
            default -> { // CVTPD2DQ, CVTTPD2DQ
                load(d, 16, true);
                boolean t = op == CVTTPD2DQ;
                r0 = toInt32(s64, lo, t) | toInt32(s64, hi, t) << 32;
                r1 = 0;
            }
        }
        commit();
        x[v] = r0;
        x[v + 1] = r1;
    }

    private long fromInt32(long v) {
        return sf.fromLong(SoftFloat.F32, 24, (int) v) & 0xFFFF_FFFFL;
    }
}
