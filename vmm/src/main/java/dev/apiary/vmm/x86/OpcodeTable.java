package dev.apiary.vmm.x86;

/**
 * The one opcode table of the software CPU (Intel SDM Vol. 2D, Appendix A): the decoder and the disassembly
 * in failure dumps both come from it. Operands are written as in the SDM's opcode maps: a letter for the
 * addressing method (E r/m, G reg, M memory r/m, R register r/m, I immediate, J relative, O offset, A far
 * pointer, S segment register, C/D control/debug register, Z register in the opcode's low bits) and one for the
 * size (b byte, w word, d dword, q qword, v operand size, z 16/32-bit immediate of the operand size, p far
 * pointer); fixed registers are named (AL, eAX, CL, DX), {@code 1} is the constant one. Encodings left out
 * are #UD (logged once by the CPU with their bytes).
 */
final class OpcodeTable {
    // operand kinds
    static final int K_NONE = 0, K_E = 1, K_G = 2, K_I = 3, K_ONE = 4, K_CL = 5, K_SEG = 6, K_CR = 7, K_DR = 8,
            K_M = 9, K_R = 10, K_J = 11, K_O = 12, K_A = 13, K_Z = 14, K_AL = 15, K_DX = 16,
            // XMM register by ModRM.reg, XMM register or memory by ModRM.r/m, XMM register only by r/m
            K_V = 17, K_W = 18, K_U = 19;
    // operand sizes: fixed byte counts, or these codes
    static final int S_V = -1, S_Z = -2, S_P = -3;
    // flags
    static final int D64 = 1, F64 = 2, I64 = 4, O64 = 8, NO_REP_F3 = 16,
            /** SSE: 66/F2/F3 select the instruction; a GPR operand is 64-bit with REX.W, else 32-bit. */
            SSE_OPS = 32;

    /** One opcode (or one /digit of a group): what it is called, its handler, operands and mode rules. */
    static final class Entry {
        final String mnemonic;
        final Op op;
        final int[] kinds;
        final int[] sizes;
        final int flags;
        /** Extra handler data: the condition of Jcc/SETcc/CMOVcc, the segment of PUSH/POP sreg. */
        final int aux;
        /** For groups: the entry by ModRM.reg (memory forms), and by reg*8+rm for mod = 3 where they differ. */
        Entry[] group;
        Entry[] groupMod3;
        /** The entry with a mandatory F3 prefix (POPCNT, LZCNT, PAUSE). */
        Entry withF3;
        /** SSE opcodes: the entry by mandatory prefix (none, 66, F3, F2). */
        Entry[] byPrefix;

        Entry(String mnemonic, Op op, String operands, int flags, int aux) {
            this.mnemonic = mnemonic;
            this.op = op;
            this.flags = flags;
            this.aux = aux;
            String[] parts = operands.isEmpty() ? new String[0] : operands.split(",");
            kinds = new int[parts.length];
            sizes = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                parseOperand(parts[i], i);
            }
        }

        boolean hasModrm() {
            if (group != null) {
                return true;
            }
            for (int k : kinds) {
                if (k == K_E || k == K_G || k == K_M || k == K_R || k == K_SEG || k == K_CR || k == K_DR || k == K_V
                        || k == K_W || k == K_U) {
                    return true;
                }
            }
            return false;
        }

        private void parseOperand(String s, int i) {
            switch (s) {
                case "AL" -> set(i, K_AL, 1);
                case "AX" -> set(i, K_AL, 2);
                case "eAX" -> set(i, K_AL, S_V);
                case "CL" -> set(i, K_CL, 1);
                case "DX" -> set(i, K_DX, 2);
                case "1" -> set(i, K_ONE, 1);
                default -> {
                    int kind = switch (s.charAt(0)) {
                        case 'E' -> K_E;
                        case 'G' -> K_G;
                        case 'M' -> K_M;
                        case 'R' -> K_R;
                        case 'I' -> K_I;
                        case 'J' -> K_J;
                        case 'O' -> K_O;
                        case 'A' -> K_A;
                        case 'S' -> K_SEG;
                        case 'C' -> K_CR;
                        case 'D' -> K_DR;
                        case 'Z' -> K_Z;
                        case 'V' -> K_V;
                        case 'W' -> K_W;
                        case 'U' -> K_U;
                        default -> throw new IllegalArgumentException("operand " + s);
                    };
                    int size = switch (s.substring(1)) {
                        case "b" -> 1;
                        case "w" -> 2;
                        case "d" -> 4;
                        case "q" -> 8;
                        case "v", "y" -> S_V;
                        case "z" -> S_Z;
                        case "p" -> S_P;
                        case "x", "ps", "pd", "dq" -> 16;
                        case "ss" -> 4;
                        case "sd" -> 8;
                        case "", "a" -> 0;
                        default -> throw new IllegalArgumentException("operand " + s);
                    };
                    set(i, kind, size);
                }
            }
        }

        private void set(int i, int kind, int size) {
            kinds[i] = kind;
            sizes[i] = size;
        }

        @Override
        public String toString() {
            return mnemonic;
        }
    }

    final Entry[] oneByte = new Entry[256];
    final Entry[] twoByte = new Entry[256];

    private static final Op[] ALU8 = {Op.ADD, Op.OR, Op.ADC, Op.SBB, Op.AND, Op.SUB, Op.XOR, Op.CMP};
    private static final Op[] SHIFT8 = {Op.ROL, Op.ROR, Op.RCL, Op.RCR, Op.SHL, Op.SHR, Op.SAL, Op.SAR};
    static final String[] CONDITIONS = {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge",
        "le", "g"};
    /** Declared after the tables it reads while being built. */
    static final OpcodeTable TABLE = new OpcodeTable();

    private static Entry e(String m, Op op, String operands) {
        return new Entry(m, op, operands, 0, 0);
    }

    private static Entry e(String m, Op op, String operands, int flags) {
        return new Entry(m, op, operands, flags, 0);
    }

    private static Entry e(String m, Op op, String operands, int flags, int aux) {
        return new Entry(m, op, operands, flags, aux);
    }

    private static Entry group(String name, Entry... byReg) {
        Entry g = new Entry(name, Op.UD, "", 0, 0);
        g.group = byReg;
        return g;
    }

    private OpcodeTable() {
        Entry[] o = oneByte;
        for (int a = 0; a < 8; a++) {
            Op op = ALU8[a];
            String m = op.name().toLowerCase();
            o[a * 8] = e(m, op, "Eb,Gb");
            o[a * 8 + 1] = e(m, op, "Ev,Gv");
            o[a * 8 + 2] = e(m, op, "Gb,Eb");
            o[a * 8 + 3] = e(m, op, "Gv,Ev");
            o[a * 8 + 4] = e(m, op, "AL,Ib");
            o[a * 8 + 5] = e(m, op, "eAX,Iz");
        }
        o[0x06] = e("push es", Op.PUSH_SEG, "", I64, CpuState.ES);
        o[0x07] = e("pop es", Op.POP_SEG, "", I64, CpuState.ES);
        o[0x0E] = e("push cs", Op.PUSH_SEG, "", I64, CpuState.CS);
        o[0x16] = e("push ss", Op.PUSH_SEG, "", I64, CpuState.SS);
        o[0x17] = e("pop ss", Op.POP_SEG, "", I64, CpuState.SS);
        o[0x1E] = e("push ds", Op.PUSH_SEG, "", I64, CpuState.DS);
        o[0x1F] = e("pop ds", Op.POP_SEG, "", I64, CpuState.DS);
        o[0x27] = e("daa", Op.DAA, "", I64);
        o[0x2F] = e("das", Op.DAS, "", I64);
        o[0x37] = e("aaa", Op.AAA, "", I64);
        o[0x3F] = e("aas", Op.AAS, "", I64);
        for (int i = 0; i < 8; i++) {
            o[0x40 + i] = e("inc", Op.INC, "Zv", I64);
            o[0x48 + i] = e("dec", Op.DEC, "Zv", I64);
            o[0x50 + i] = e("push", Op.PUSH, "Zv", D64);
            o[0x58 + i] = e("pop", Op.POP, "Zv", D64);
            o[0x90 + i] = e("xchg", Op.XCHG, "Zv,eAX");
            o[0xB0 + i] = e("mov", Op.MOV, "Zb,Ib");
            o[0xB8 + i] = e("mov", Op.MOV, "Zv,Iv");
        }
        o[0x60] = e("pusha", Op.PUSHA, "", I64);
        o[0x61] = e("popa", Op.POPA, "", I64);
        o[0x63] = e("movsxd", Op.MOVSXD, "Gv,Ed");
        o[0x68] = e("push", Op.PUSH, "Iz", D64);
        o[0x69] = e("imul", Op.IMUL3, "Gv,Ev,Iz");
        o[0x6A] = e("push", Op.PUSH, "Ib", D64);
        o[0x6B] = e("imul", Op.IMUL3, "Gv,Ev,Ib");
        o[0x6C] = e("insb", Op.INS, "", 0, 1);
        o[0x6D] = e("ins", Op.INS, "", 0, 0);
        o[0x6E] = e("outsb", Op.OUTS, "", 0, 1);
        o[0x6F] = e("outs", Op.OUTS, "", 0, 0);
        for (int c = 0; c < 16; c++) {
            o[0x70 + c] = e("j" + CONDITIONS[c], Op.JCC, "Jb", F64, c);
        }
        o[0x80] = group("grp1", alu8("Eb,Ib"));
        o[0x81] = group("grp1", alu8("Ev,Iz"));
        o[0x82] = group("grp1", alu8("Eb,Ib", I64));
        o[0x83] = group("grp1", alu8("Ev,Ib"));
        o[0x84] = e("test", Op.TEST, "Eb,Gb");
        o[0x85] = e("test", Op.TEST, "Ev,Gv");
        o[0x86] = e("xchg", Op.XCHG, "Eb,Gb");
        o[0x87] = e("xchg", Op.XCHG, "Ev,Gv");
        o[0x88] = e("mov", Op.MOV, "Eb,Gb");
        o[0x89] = e("mov", Op.MOV, "Ev,Gv");
        o[0x8A] = e("mov", Op.MOV, "Gb,Eb");
        o[0x8B] = e("mov", Op.MOV, "Gv,Ev");
        o[0x8C] = e("mov", Op.MOV_FROM_SEG, "Ev,Sw");
        o[0x8D] = e("lea", Op.LEA, "Gv,M");
        o[0x8E] = e("mov", Op.MOV_TO_SEG, "Sw,Ew");
        o[0x8F] = group("grp1a", e("pop", Op.POP, "Ev", D64), null, null, null, null, null, null, null);
        o[0x90] = e("xchg", Op.XCHG, "Zv,eAX");
        o[0x90].withF3 = e("pause", Op.PAUSE, "");
        o[0x98] = e("cbw", Op.CBW, "");
        o[0x99] = e("cwd", Op.CWD, "");
        o[0x9A] = e("call far", Op.CALL_FAR, "Ap", I64);
        o[0x9B] = e("fwait", Op.FWAIT, "");
        o[0x9C] = e("pushf", Op.PUSHF, "", D64);
        o[0x9D] = e("popf", Op.POPF, "", D64);
        o[0x9E] = e("sahf", Op.SAHF, "");
        o[0x9F] = e("lahf", Op.LAHF, "");
        o[0xA0] = e("mov", Op.MOV, "AL,Ob");
        o[0xA1] = e("mov", Op.MOV, "eAX,Ov");
        o[0xA2] = e("mov", Op.MOV, "Ob,AL");
        o[0xA3] = e("mov", Op.MOV, "Ov,eAX");
        o[0xA4] = e("movsb", Op.MOVS, "", 0, 1);
        o[0xA5] = e("movs", Op.MOVS, "", 0, 0);
        o[0xA6] = e("cmpsb", Op.CMPS, "", 0, 1);
        o[0xA7] = e("cmps", Op.CMPS, "", 0, 0);
        o[0xA8] = e("test", Op.TEST, "AL,Ib");
        o[0xA9] = e("test", Op.TEST, "eAX,Iz");
        o[0xAA] = e("stosb", Op.STOS, "", 0, 1);
        o[0xAB] = e("stos", Op.STOS, "", 0, 0);
        o[0xAC] = e("lodsb", Op.LODS, "", 0, 1);
        o[0xAD] = e("lods", Op.LODS, "", 0, 0);
        o[0xAE] = e("scasb", Op.SCAS, "", 0, 1);
        o[0xAF] = e("scas", Op.SCAS, "", 0, 0);
        o[0xC0] = group("grp2", shift8("Eb,Ib"));
        o[0xC1] = group("grp2", shift8("Ev,Ib"));
        o[0xC2] = e("ret", Op.RET, "Iw", F64);
        o[0xC3] = e("ret", Op.RET, "", F64);
        o[0xC4] = e("les", Op.LOAD_FAR, "Gv,Mp", I64, CpuState.ES);
        o[0xC5] = e("lds", Op.LOAD_FAR, "Gv,Mp", I64, CpuState.DS);
        o[0xC6] = group("grp11", e("mov", Op.MOV, "Eb,Ib"), null, null, null, null, null, null, null);
        o[0xC7] = group("grp11", e("mov", Op.MOV, "Ev,Iz"), null, null, null, null, null, null, null);
        o[0xC8] = e("enter", Op.ENTER, "Iw,Ib", D64);
        o[0xC9] = e("leave", Op.LEAVE, "", D64);
        o[0xCA] = e("retf", Op.RET_FAR, "Iw");
        o[0xCB] = e("retf", Op.RET_FAR, "");
        o[0xCC] = e("int3", Op.INT3, "");
        o[0xCD] = e("int", Op.INT, "Ib");
        o[0xCE] = e("into", Op.INTO, "", I64);
        o[0xCF] = e("iret", Op.IRET, "");
        o[0xD0] = group("grp2", shift8("Eb,1"));
        o[0xD1] = group("grp2", shift8("Ev,1"));
        o[0xD2] = group("grp2", shift8("Eb,CL"));
        o[0xD3] = group("grp2", shift8("Ev,CL"));
        o[0xD4] = e("aam", Op.AAM, "Ib", I64);
        o[0xD5] = e("aad", Op.AAD, "Ib", I64);
        o[0xD6] = e("salc", Op.SALC, "", I64);
        o[0xD7] = e("xlat", Op.XLAT, "");
        for (int i = 0xD8; i <= 0xDF; i++) {
            o[i] = e("x87", Op.X87, "Ev", 0, i - 0xD8); // X87 decodes ModRM by aux (the opcode's low bits)
        }
        o[0xE0] = e("loopne", Op.LOOPNE, "Jb", F64);
        o[0xE1] = e("loope", Op.LOOPE, "Jb", F64);
        o[0xE2] = e("loop", Op.LOOP, "Jb", F64);
        o[0xE3] = e("jcxz", Op.JCXZ, "Jb", F64);
        o[0xE4] = e("in", Op.IN, "AL,Ib");
        o[0xE5] = e("in", Op.IN, "eAX,Ib");
        o[0xE6] = e("out", Op.OUT, "Ib,AL");
        o[0xE7] = e("out", Op.OUT, "Ib,eAX");
        o[0xE8] = e("call", Op.CALL, "Jz", F64);
        o[0xE9] = e("jmp", Op.JMP, "Jz", F64);
        o[0xEA] = e("jmp far", Op.JMP_FAR, "Ap", I64);
        o[0xEB] = e("jmp", Op.JMP, "Jb", F64);
        o[0xEC] = e("in", Op.IN, "AL,DX");
        o[0xED] = e("in", Op.IN, "eAX,DX");
        o[0xEE] = e("out", Op.OUT, "DX,AL");
        o[0xEF] = e("out", Op.OUT, "DX,eAX");
        o[0xF1] = e("int1", Op.INT1, "");
        o[0xF4] = e("hlt", Op.HLT, "");
        o[0xF5] = e("cmc", Op.CMC, "");
        o[0xF6] = group("grp3", e("test", Op.TEST, "Eb,Ib"), e("test", Op.TEST, "Eb,Ib"), e("not", Op.NOT, "Eb"),
                e("neg", Op.NEG, "Eb"), e("mul", Op.MUL, "Eb"), e("imul", Op.IMUL1, "Eb"), e("div", Op.DIV, "Eb"),
                e("idiv", Op.IDIV, "Eb"));
        o[0xF7] = group("grp3", e("test", Op.TEST, "Ev,Iz"), e("test", Op.TEST, "Ev,Iz"), e("not", Op.NOT, "Ev"),
                e("neg", Op.NEG, "Ev"), e("mul", Op.MUL, "Ev"), e("imul", Op.IMUL1, "Ev"), e("div", Op.DIV, "Ev"),
                e("idiv", Op.IDIV, "Ev"));
        o[0xF8] = e("clc", Op.CLC, "");
        o[0xF9] = e("stc", Op.STC, "");
        o[0xFA] = e("cli", Op.CLI, "");
        o[0xFB] = e("sti", Op.STI, "");
        o[0xFC] = e("cld", Op.CLD, "");
        o[0xFD] = e("std", Op.STD, "");
        o[0xFE] = group("grp4", e("inc", Op.INC, "Eb"), e("dec", Op.DEC, "Eb"), null, null, null, null, null, null);
        o[0xFF] = group("grp5", e("inc", Op.INC, "Ev"), e("dec", Op.DEC, "Ev"), e("call", Op.CALL_IND, "Ev", F64),
                e("call far", Op.CALL_FAR_IND, "Mp"), e("jmp", Op.JMP_IND, "Ev", F64),
                e("jmp far", Op.JMP_FAR_IND, "Mp"), e("push", Op.PUSH, "Ev", D64), null);

        Entry[] t = twoByte;
        t[0x00] = group("grp6", e("sldt", Op.SLDT, "Ew"), e("str", Op.STR, "Ew"), e("lldt", Op.LLDT, "Ew"),
                e("ltr", Op.LTR, "Ew"), e("verr", Op.VERR, "Ew"), e("verw", Op.VERW, "Ew"), null, null);
        t[0x01] = group("grp7", e("sgdt", Op.SGDT, "M"), e("sidt", Op.SIDT, "M"), e("lgdt", Op.LGDT, "M"),
                e("lidt", Op.LIDT, "M"), e("smsw", Op.SMSW, "Ew"), null, e("lmsw", Op.LMSW, "Ew"),
                e("invlpg", Op.INVLPG, "M"));
        t[0x01].groupMod3 = new Entry[64];
        for (int rm = 0; rm < 8; rm++) {
            t[0x01].groupMod3[4 * 8 + rm] = e("smsw", Op.SMSW, "Ev");
            t[0x01].groupMod3[6 * 8 + rm] = e("lmsw", Op.LMSW, "Ew");
        }
        t[0x01].groupMod3[7 * 8] = e("swapgs", Op.SWAPGS, "", O64);
        t[0x01].groupMod3[7 * 8 + 1] = e("rdtscp", Op.RDTSCP, "");
        t[0x02] = e("lar", Op.LAR, "Gv,Ew");
        t[0x03] = e("lsl", Op.LSL, "Gv,Ew");
        t[0x05] = e("syscall", Op.SYSCALL, "");
        t[0x06] = e("clts", Op.CLTS, "");
        t[0x07] = e("sysret", Op.SYSRET, "");
        t[0x08] = e("invd", Op.WBINVD, "");
        t[0x09] = e("wbinvd", Op.WBINVD, "");
        t[0x0B] = e("ud2", Op.UD, "");
        t[0x0D] = e("prefetch", Op.NOP, "Ev");
        for (int i = 0x18; i <= 0x1F; i++) {
            t[i] = e("nop", Op.NOP, "Ev");
        }
        t[0x20] = e("mov", Op.MOV_FROM_CR, "Rq,Cq", F64);
        t[0x21] = e("mov", Op.MOV_FROM_DR, "Rq,Dq", F64);
        t[0x22] = e("mov", Op.MOV_TO_CR, "Cq,Rq", F64);
        t[0x23] = e("mov", Op.MOV_TO_DR, "Dq,Rq", F64);
        t[0x30] = e("wrmsr", Op.WRMSR, "");
        t[0x31] = e("rdtsc", Op.RDTSC, "");
        t[0x32] = e("rdmsr", Op.RDMSR, "");
        t[0x33] = e("rdpmc", Op.RDPMC, "");
        for (int c = 0; c < 16; c++) {
            t[0x40 + c] = e("cmov" + CONDITIONS[c], Op.CMOV, "Gv,Ev", 0, c);
            t[0x80 + c] = e("j" + CONDITIONS[c], Op.JCC, "Jz", F64, c);
            t[0x90 + c] = e("set" + CONDITIONS[c], Op.SETCC, "Eb", 0, c);
        }
        t[0xA0] = e("push fs", Op.PUSH_SEG, "", D64, CpuState.FS);
        t[0xA1] = e("pop fs", Op.POP_SEG, "", D64, CpuState.FS);
        t[0xA2] = e("cpuid", Op.CPUID, "");
        t[0xA3] = e("bt", Op.BT, "Ev,Gv");
        t[0xA4] = e("shld", Op.SHLD, "Ev,Gv,Ib");
        t[0xA5] = e("shld", Op.SHLD, "Ev,Gv,CL");
        t[0xA8] = e("push gs", Op.PUSH_SEG, "", D64, CpuState.GS);
        t[0xA9] = e("pop gs", Op.POP_SEG, "", D64, CpuState.GS);
        t[0xAB] = e("bts", Op.BTS, "Ev,Gv");
        t[0xAC] = e("shrd", Op.SHRD, "Ev,Gv,Ib");
        t[0xAD] = e("shrd", Op.SHRD, "Ev,Gv,CL");
        t[0xAE] = group("grp15", e("fxsave", Op.SSE, "M", 0, Sse.FXSAVE), e("fxrstor", Op.SSE, "M", 0, Sse.FXRSTOR),
                e("ldmxcsr", Op.SSE, "Md", 0, Sse.LDMXCSR), e("stmxcsr", Op.SSE, "Md", 0, Sse.STMXCSR), null, null,
                null, e("clflush", Op.CLFLUSH, "Mb"));
        t[0xAE].groupMod3 = new Entry[64];
        for (int rm = 0; rm < 8; rm++) {
            t[0xAE].groupMod3[5 * 8 + rm] = e("lfence", Op.FENCE, "");
            t[0xAE].groupMod3[6 * 8 + rm] = e("mfence", Op.FENCE, "");
            t[0xAE].groupMod3[7 * 8 + rm] = e("sfence", Op.FENCE, "");
        }
        t[0xAF] = e("imul", Op.IMUL2, "Gv,Ev");
        t[0xB0] = e("cmpxchg", Op.CMPXCHG, "Eb,Gb");
        t[0xB1] = e("cmpxchg", Op.CMPXCHG, "Ev,Gv");
        t[0xB2] = e("lss", Op.LOAD_FAR, "Gv,Mp", 0, CpuState.SS);
        t[0xB3] = e("btr", Op.BTR, "Ev,Gv");
        t[0xB4] = e("lfs", Op.LOAD_FAR, "Gv,Mp", 0, CpuState.FS);
        t[0xB5] = e("lgs", Op.LOAD_FAR, "Gv,Mp", 0, CpuState.GS);
        t[0xB6] = e("movzx", Op.MOVZX, "Gv,Eb");
        t[0xB7] = e("movzx", Op.MOVZX, "Gv,Ew");
        Entry popcnt = e("popcnt", Op.POPCNT, "Gv,Ev");
        t[0xB8] = new Entry("(bad)", Op.UD, "", 0, 0);
        t[0xB8].withF3 = popcnt;
        t[0xB9] = e("ud1", Op.UD, "Gv,Ev");
        t[0xFF] = e("ud0", Op.UD, "Gv,Ev");
        t[0xBA] = group("grp8", null, null, null, null, e("bt", Op.BT, "Ev,Ib"), e("bts", Op.BTS, "Ev,Ib"),
                e("btr", Op.BTR, "Ev,Ib"), e("btc", Op.BTC, "Ev,Ib"));
        t[0xBB] = e("btc", Op.BTC, "Ev,Gv");
        t[0xBC] = e("bsf", Op.BSF, "Gv,Ev"); // F3 0F BC (TZCNT) runs as BSF: BMI1 is not advertised
        t[0xBD] = e("bsr", Op.BSR, "Gv,Ev");
        t[0xBD].withF3 = e("lzcnt", Op.LZCNT, "Gv,Ev");
        t[0xBE] = e("movsx", Op.MOVSX, "Gv,Eb");
        t[0xBF] = e("movsx", Op.MOVSX, "Gv,Ew");
        t[0xC0] = e("xadd", Op.XADD, "Eb,Gb");
        t[0xC1] = e("xadd", Op.XADD, "Ev,Gv");
        t[0xC7] = group("grp9", null, e("cmpxchg8b", Op.CMPXCHG8B, "Mq"), null, null, null, null, null, null);
        for (int i = 0; i < 8; i++) {
            t[0xC8 + i] = e("bswap", Op.BSWAP, "Zv");
        }
        t[0xC3] = e("movnti", Op.MOV, "My,Gy");
        Sse.install(t);
    }

    private static Entry[] alu8(String operands) {
        return alu8(operands, 0);
    }

    private static Entry[] alu8(String operands, int flags) {
        Entry[] g = new Entry[8];
        for (int i = 0; i < 8; i++) {
            g[i] = e(ALU8[i].name().toLowerCase(), ALU8[i], operands, flags);
        }
        return g;
    }

    private static Entry[] shift8(String operands) {
        Entry[] g = new Entry[8];
        for (int i = 0; i < 8; i++) {
            g[i] = e(SHIFT8[i].name().toLowerCase(), SHIFT8[i], operands);
        }
        return g;
    }
}
