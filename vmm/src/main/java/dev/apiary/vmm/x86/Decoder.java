package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.OpcodeTable.*;

import dev.apiary.vmm.x86.OpcodeTable.Entry;

/**
 * Decodes one instruction from the opcode table (SDM Vol. 2A, chapter 2): legacy prefixes, REX, the 0F, 0F 38
 * and 0F 3A maps, ModRM/SIB/displacement, immediates. Encodings the table lacks decode to an {@link Op#UD}
 * instruction that raises #UD when executed.
 */
final class Decoder {
    /** Fetches instruction byte {@code i} (0-based from the instruction's start); may raise a guest fault. */
    interface Fetch {
        int fetch(int i);
    }

    static final Entry BAD = new Entry("(bad)", Op.UD, "", 0, 0);
    /** Unimplemented encodings whose length is still known: with a ModRM, and with ModRM and imm8. */
    static final Entry BAD_M = new Entry("(bad)", Op.UD, "Ev", 0, 0);
    static final Entry BAD_MI = new Entry("(bad)", Op.UD, "Ev,Ib", 0, 0);
    private static final Entry NOP90 = new Entry("nop", Op.NOP, "", 0, 0);
    private static final int MAX_LENGTH = 15;
    private static final int[] BASES16 = {3, 3, 5, 5, 6, 7, 5, 3};
    private static final int[] INDEXES16 = {6, 7, 6, 7, -1, -1, -1, -1};

    private final OpcodeTable table = OpcodeTable.TABLE;
    private final GuestFault fault;
    private Fetch in;
    private int pos;

    Decoder(GuestFault fault) {
        this.fault = fault;
    }

    private int next() {
        if (pos >= MAX_LENGTH) {
            throw fault.set(GuestFault.GP, 0, true); // SDM Vol. 2A 2.3.11: longer than 15 bytes
        }
        return in.fetch(pos++) & 0xFF;
    }

    /** Decodes the instruction at the fetcher's start in a code segment of {@code mode} bits (16, 32, 64). */
    Insn decode(Fetch fetch, int mode) {
        in = fetch;
        pos = 0;
        Insn d = new Insn();
        d.mode = mode;
        boolean opsize = false, addrsize = false;
        int segOverride = -1, rexBits = 0;
        boolean rex = false;
        int b;
        for (;;) {
            b = next();
            switch (b) {
                case 0x66 -> opsize = true;
                case 0x67 -> addrsize = true;
                case 0x26 -> segOverride = CpuState.ES;
                case 0x2E -> segOverride = CpuState.CS;
                case 0x36 -> segOverride = CpuState.SS;
                case 0x3E -> segOverride = CpuState.DS;
                case 0x64 -> segOverride = CpuState.FS;
                case 0x65 -> segOverride = CpuState.GS;
                case 0xF0 -> d.lock = true;
                case 0xF2 -> d.rep = 2;
                case 0xF3 -> d.rep = 1;
                default -> {
                    if (mode == 64 && (b & 0xF0) == 0x40) {
                        rex = true;
                        rexBits = b & 0xF;
                        b = next();
                        // a REX prefix followed by a legacy prefix is ignored (SDM Vol. 2A 2.2.1)
                        if (isLegacyPrefix(b)) {
                            pos--;
                            rex = false;
                            rexBits = 0;
                            continue;
                        }
                        if ((b & 0xF0) == 0x40) {
                            pos--;
                            continue;
                        }
                    }
                    d.rex = rex;
                    return decodeOpcode(d, b, opsize, addrsize, segOverride, rexBits);
                }
            }
        }
    }

    private static boolean isLegacyPrefix(int b) {
        return b == 0x66 || b == 0x67 || b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65
                || b == 0xF0 || b == 0xF2 || b == 0xF3;
    }

    private Insn decodeOpcode(Insn d, int b, boolean opsize, boolean addrsize, int segOverride, int rexBits) {
        int mode = d.mode;
        Entry e;
        boolean twoByte = false;
        if (b == 0x0F) {
            b = next();
            if (b == 0x38 || b == 0x3A) {
                next();
                // the 0F 38 and 0F 3A maps hold only SSE-family instructions, not implemented yet
                e = b == 0x38 ? BAD_M : BAD_MI;
            } else {
                e = table.twoByte[b];
                twoByte = true;
            }
        } else {
            e = table.oneByte[b];
            if (mode == 64 && (b == 0xC4 || b == 0xC5)) {
                // VEX: no AVX; decoded only for its length (SDM Vol. 2A 2.3.5)
                int map = 1;
                if (b == 0xC4) {
                    map = next() & 0x1F;
                }
                next();
                next();
                e = map == 3 ? BAD_MI : BAD_M;
            } else if (mode == 64 && b == 0x62) {
                e = null; // EVEX
            } else if (b == 0x62 || b == 0x63 && mode != 64) {
                e = null; // BOUND, ARPL
            }
        }
        if (e != null && e.byPrefix != null) {
            // SSE: the last of F2/F3 selects, else 66 (SDM Vol. 2A 2.1.2); a mandatory prefix is no REP
            int p = d.rep == 1 ? 2 : d.rep == 2 ? 3 : opsize ? 1 : 0;
            e = e.byPrefix[p];
            d.rep = 0;
        }
        if (e != null && e.withF3 != null && d.rep == 1) {
            if (b != 0x90 || (rexBits & 1) == 0) {
                e = e.withF3;
                d.rep = 0;
            }
        }
        int modrm = -1;
        if (e != null && e.hasModrm()) {
            modrm = next();
            if (e.group != null) {
                int reg = (modrm >> 3) & 7;
                e = (modrm & 0xC0) == 0xC0 && e.groupMod3 != null ? e.groupMod3[reg * 8 + (modrm & 7)] : e.group[reg];
            }
        }
        if (e != null && e.group == null && b == 0x90 && !twoByte && (rexBits & 1) == 0 && e.op == Op.XCHG) {
            e = NOP90; // 90 is NOP, not XCHG EAX,EAX (which would zero-extend RAX in 64-bit mode)
        }
        if (e == null || (e.flags & I64) != 0 && mode == 64 || (e.flags & O64) != 0 && mode != 64) {
            e = BAD;
        }
        d.entry = e;
        d.op = e.op;
        d.aux = e.aux;
        // operand size (SDM Vol. 1 3.6, Vol. 2A 2.2.1.2)
        boolean rexW = (rexBits & 8) != 0;
        int osize;
        if ((e.flags & SSE_OPS) != 0) {
            osize = mode == 64 && rexW ? 8 : 4;
        } else if (mode == 64) {
            if ((e.flags & F64) != 0) {
                osize = 8;
            } else if (rexW) {
                osize = 8;
            } else if (opsize) {
                osize = 2;
            } else {
                osize = (e.flags & D64) != 0 ? 8 : 4;
            }
        } else {
            osize = (mode == 32) != opsize ? 4 : 2;
        }
        d.osize = osize;
        d.asize = mode == 64 ? (addrsize ? 4 : 8) : (mode == 32) != addrsize ? 4 : 2;
        if (modrm >= 0) {
            decodeModrm(d, modrm, rexBits);
        }
        d.seg = segOverride >= 0 ? segOverride : d.seg;
        d.segOverride = segOverride >= 0;
        // operands
        int n = e.kinds.length;
        for (int i = 0; i < n; i++) {
            resolveOperand(d, e, i, b, rexBits);
        }
        if (d.lock && (!d.mem || !lockable(d.op))) {
            d.entry = BAD;
            d.op = Op.UD;
        }
        if ((e.kinds.length > 0 && (e.kinds[0] == K_M || n > 1 && e.kinds[1] == K_M)) && !d.mem) {
            d.op = Op.UD;
        }
        d.length = pos;
        d.bytes = new byte[pos];
        for (int i = 0; i < pos; i++) {
            d.bytes[i] = (byte) in.fetch(i);
        }
        in = null;
        return d;
    }

    private static boolean lockable(Op op) {
        return switch (op) {
            case ADD, OR, ADC, SBB, AND, SUB, XOR, INC, DEC, NOT, NEG, XCHG, XADD, CMPXCHG, CMPXCHG8B, BTS, BTR,
                 BTC -> true;
            default -> false;
        };
    }

    private void decodeModrm(Insn d, int modrm, int rexBits) {
        int mod = modrm >> 6;
        d.reg = ((modrm >> 3) & 7) | ((rexBits & 4) << 1);
        int rm = modrm & 7;
        if (mod == 3) {
            d.rm = rm | ((rexBits & 1) << 3);
            d.mem = false;
            return;
        }
        d.mem = true;
        if (d.asize == 2) {
            // 16-bit addressing (SDM Vol. 2A Table 2-1)
            if (mod == 0 && rm == 6) {
                d.base = -1;
                d.disp = (short) (next() | next() << 8);
            } else {
                d.base = BASES16[rm];
                d.index = INDEXES16[rm];
                d.disp = mod == 1 ? (byte) next() : mod == 2 ? (short) (next() | next() << 8) : 0;
                if (rm == 2 || rm == 3 || rm == 6) {
                    d.seg = CpuState.SS;
                }
            }
            return;
        }
        int base = rm;
        if (rm == 4) {
            int sib = next();
            d.scale = sib >> 6;
            int index = ((sib >> 3) & 7) | ((rexBits & 2) << 2);
            d.index = index == 4 ? -1 : index;
            base = sib & 7;
            if (base == 5 && mod == 0) {
                d.base = -1;
                d.disp = readInt();
                return;
            }
        } else if (rm == 5 && mod == 0) {
            d.base = -1;
            d.ripRel = d.mode == 64;
            d.disp = readInt();
            return;
        }
        d.base = base | ((rexBits & 1) << 3);
        if (base == 4 || base == 5) {
            d.seg = CpuState.SS;
        }
        d.disp = mod == 1 ? (byte) next() : mod == 2 ? readInt() : 0;
    }

    private int readInt() {
        return next() | next() << 8 | next() << 16 | next() << 24;
    }

    private long readImm(int size) {
        return switch (size) {
            case 1 -> (byte) next();
            case 2 -> (short) (next() | next() << 8);
            case 4 -> readInt();
            default -> (readInt() & 0xFFFF_FFFFL) | ((long) readInt() << 32);
        };
    }

    private void resolveOperand(Insn d, Entry e, int i, int opcode, int rexBits) {
        int kind = e.kinds[i];
        int size = e.sizes[i];
        int osize = d.osize;
        int s = switch (size) {
            case S_V -> osize;
            case S_Z -> Math.min(osize, 4);
            default -> size;
        };
        int k;
        switch (kind) {
            case K_E, K_M, K_R -> {
                k = K_E;
                if (kind == K_R) {
                    d.mem = false;
                }
            }
            case K_G -> k = K_G;
            case K_V -> k = K_V;
            case K_W, K_U -> k = K_E;
            case K_Z -> {
                k = K_E;
                d.mem = false;
                d.rm = (opcode & 7) | ((rexBits & 1) << 3);
            }
            case K_AL -> {
                k = K_G;
                d.reg = 0;
            }
            case K_DX -> {
                k = K_DX;
            }
            case K_I -> {
                k = K_I;
                if (i > 0 && e.kinds[0] == K_I) {
                    d.imm2 = readImm(s) & 0xFF; // ENTER's nesting level
                } else if (s == 2 && size == 2) {
                    d.imm = readImm(2) & 0xFFFF;
                } else {
                    d.imm = readImm(s);
                }
                s = size == S_Z || size == S_V ? osize : s; // an immediate is read at the operation's size
            }
            case K_J -> {
                k = K_I;
                d.imm = readImm(size == 1 ? 1 : osize == 2 ? 2 : 4);
            }
            case K_O -> {
                k = K_E;
                d.mem = true;
                d.base = -1;
                d.index = -1;
                d.disp = readImm(d.asize);
                if (d.asize == 4) {
                    d.disp &= 0xFFFF_FFFFL;
                }
            }
            case K_A -> {
                k = K_I;
                d.imm = readImm(osize == 2 ? 2 : 4) & (osize == 2 ? 0xFFFF : 0xFFFF_FFFFL);
                d.imm2 = readImm(2) & 0xFFFF;
            }
            case K_SEG -> {
                k = K_SEG;
                d.reg &= 7;
            }
            default -> k = kind;
        }
        if (size == S_P) {
            s = osize == 2 ? 4 : osize == 4 ? 6 : 10;
        }
        switch (i) {
            case 0 -> {
                d.k1 = k;
                d.s1 = s;
            }
            case 1 -> {
                d.k2 = k;
                d.s2 = s;
            }
            default -> {
                d.k3 = k;
                d.s3 = s;
            }
        }
    }
}
