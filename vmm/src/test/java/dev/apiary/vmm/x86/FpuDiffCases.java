package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.DiffLayout.DATA;
import static dev.apiary.vmm.x86.DiffLayout.DATA_SIZE;
import static dev.apiary.vmm.x86.DiffLayout.STACK_TOP;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;

/**
 * Differential cases for SSE/SSE2 and the x87: every implemented instruction in register and memory forms,
 * from FXSAVE images filled with edge values (signed zeros, denormals, the largest and smallest normals,
 * infinities, quiet and signaling NaNs with payloads, values at rounding boundaries and integer-conversion
 * limits, x87 unnormals and pseudo-denormals) and random ones, under every rounding mode, DAZ/FTZ, x87
 * precision control, and some unmasked exceptions (#XM, #MF). RBX points at the data buffer, as in
 * {@link DiffCases}; memory operands are 16-byte aligned unless a case is about misalignment.
 */
final class FpuDiffCases {
    private final Random random;
    private final int perForm;
    private final List<DiffCase> cases = new ArrayList<>();

    private FpuDiffCases(long seed, int perForm) {
        this.random = new Random(seed);
        this.perForm = perForm;
    }

    static List<DiffCase> all(long seed, int perForm) {
        FpuDiffCases g = new FpuDiffCases(seed, perForm);
        g.sseMoves();
        g.sseInteger();
        g.sseShifts();
        g.sseShuffles();
        g.sseFloat();
        g.sseCompare();
        g.sseApproximations();
        g.sseConvert();
        g.sseControl();
        g.x87Loads();
        g.x87Stores();
        g.x87Arith();
        g.x87Compare();
        g.x87Misc();
        g.x87Control();
        return g.cases;
    }

    // ---- values ----

    private static final int[] F32_EDGES = {0, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 1, 0x8000_0001, 0x007F_FFFF,
        0x0080_0000, 0x8080_0000, 0x7F7F_FFFF, 0xFF7F_FFFF, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0000,
        0x7FC1_2345, 0x7F80_0001, 0x7FA0_0000, 0xFF81_0000, 0x3F80_0001, 0x4B7F_FFFF, 0x4EFF_FFFF, 0x4F00_0000,
        0xCF00_0000, 0xCF00_0001, 0x3F00_0000, 0x3FC0_0000, 0x4020_0000, 0xBFC0_0000, 0x5F00_0000, 0xDF00_0000,
        0x0040_0000, 0x3400_0000, 0x0000_0010, 0x3EAA_AAAB, 0x4049_0FDB};
    private static final long[] F64_EDGES = {0, Long.MIN_VALUE, 0x3FF0_0000_0000_0000L, 0xBFF0_0000_0000_0000L, 1,
        0x8000_0000_0000_0001L, 0x000F_FFFF_FFFF_FFFFL, 0x0010_0000_0000_0000L, 0x7FEF_FFFF_FFFF_FFFFL,
        0xFFEF_FFFF_FFFF_FFFFL, 0x7FF0_0000_0000_0000L, 0xFFF0_0000_0000_0000L, 0x7FF8_0000_0000_0000L,
        0xFFF8_0000_0000_0000L, 0x7FF8_0000_1234_5678L, 0x7FF0_0000_0000_0001L, 0x7FF4_0000_0000_0000L,
        0x3FF0_0000_0000_0001L, 0x41DF_FFFF_FFC0_0000L, 0x41E0_0000_0000_0000L, 0xC1E0_0000_0000_0000L,
        0xC1E0_0000_0020_0000L, 0x43E0_0000_0000_0000L, 0xC3E0_0000_0000_0000L, 0x3FE0_0000_0000_0000L,
        0x3FF8_0000_0000_0000L, 0x4004_0000_0000_0000L, 0xBFF8_0000_0000_0000L, 0x3690_0000_0000_0000L,
        0x47EF_FFFF_E000_0000L, 0x47EF_FFFF_F000_0000L, 0x3810_0000_0000_0000L, 0x380F_FFFF_F000_0000L,
        0x3FD5_5555_5555_5555L, 0x4009_21FB_5444_2D18L, 0x3CB0_0000_0000_0000L};

    private long f32() {
        return switch (random.nextInt(4)) {
            case 0, 1 -> F32_EDGES[random.nextInt(F32_EDGES.length)] & 0xFFFF_FFFFL;
            case 2 -> Float.floatToRawIntBits((float) ((random.nextInt(2001) - 1000) / (1 + random.nextInt(16))))
                    & 0xFFFF_FFFFL;
            default -> random.nextInt() & 0xFFFF_FFFFL;
        };
    }

    private long f64() {
        return switch (random.nextInt(4)) {
            case 0, 1 -> F64_EDGES[random.nextInt(F64_EDGES.length)];
            case 2 -> Double.doubleToRawLongBits((random.nextInt(2001) - 1000) / (double) (1 + random.nextInt(16)));
            default -> random.nextLong();
        };
    }

    private long packedF32() {
        return f32() | f32() << 32;
    }

    /** An integer lane pattern: edges of every element size, or random. */
    private long ints() {
        long[] edges = {0, -1, 0x8080_8080_8080_8080L, 0x7F7F_7F7F_7F7F_7F7FL, 0x8000_8000_8000_8000L,
            0x7FFF_7FFF_7FFF_7FFFL, 0x8000_0000_8000_0000L, 0x7FFF_FFFF_7FFF_FFFFL, 0x00FF_00FF_00FF_00FFL,
            0x0123_4567_89AB_CDEFL, 0xFF00_FF00_FF00_FF00L, 0x0001_0001_0001_0001L};
        return random.nextInt(3) == 0 ? edges[random.nextInt(edges.length)] : random.nextLong();
    }

    /** An 80-bit value: significand and sign/exponent. */
    private long[] f80() {
        return switch (random.nextInt(12)) {
            case 0 -> new long[] {0, random.nextBoolean() ? 0x8000 : 0};
            case 1 -> new long[] {Long.MIN_VALUE, (random.nextBoolean() ? 0x8000 : 0) | 0x7FFF}; // infinity
            case 2 -> new long[] {0xC000_0000_0000_0000L | random.nextInt(1 << 20), (random.nextBoolean() ? 0x8000 : 0) | 0x7FFF};
            case 3 -> new long[] {0x8000_0000_0000_0000L | 1L + random.nextInt(1 << 20), 0x7FFF}; // SNaN
            case 4 -> new long[] {random.nextLong() >>> 1 | 1, random.nextBoolean() ? 0x8000 : 0}; // denormal
            case 5 -> new long[] {random.nextLong() | Long.MIN_VALUE, 0}; // pseudo-denormal
            case 6 -> new long[] {random.nextLong() >>> 1, 0x3FFF + random.nextInt(64)}; // unnormal
            case 7 -> new long[] {random.nextLong() | Long.MIN_VALUE, random.nextBoolean() ? 0x7FFE : 1}; // extremes
            case 8 -> {
                double v = (random.nextInt(20001) - 10000) / (double) (1 + random.nextInt(64));
                yield fromDouble(v);
            }
            case 9 -> fromDouble(Double.longBitsToDouble(f64()));
            default -> new long[] {random.nextLong() | Long.MIN_VALUE,
                (random.nextBoolean() ? 0x8000 : 0) | 0x3FFF - 70 + random.nextInt(140)};
        };
    }

    /** An exact extended value of a finite double (NaNs and infinities as well). */
    private static long[] fromDouble(double v) {
        long b = Double.doubleToRawLongBits(v);
        int sign = b < 0 ? 0x8000 : 0;
        int exp = (int) (b >>> 52) & 0x7FF;
        long frac = b & 0xF_FFFF_FFFF_FFFFL;
        if (exp == 0x7FF) return new long[] {Long.MIN_VALUE | frac << 11, sign | 0x7FFF};
        if (exp == 0 && frac == 0) return new long[] {0, sign};
        if (exp == 0) {
            int lz = Long.numberOfLeadingZeros(frac);
            return new long[] {frac << lz, sign | 0x3FFF - 1022 - (lz - 11)};
        }
        return new long[] {Long.MIN_VALUE | frac << 11, sign | exp - 1023 + 0x3FFF};
    }

    // ---- state ----

    private final class State {
        final long[] gprs = new long[16];
        final byte[] data = new byte[DATA_SIZE];
        final byte[] fx = DiffLayout.initialFpu();
        long rflags;
        final BitSet undefined = new BitSet();

        State() {
            for (int i = 0; i < 16; i++) gprs[i] = random.nextLong();
            gprs[3] = DATA;
            gprs[4] = STACK_TOP;
            random.nextBytes(data);
            rflags = DiffLayout.FIXED_FLAGS | (random.nextLong() & DiffLayout.COMPARED_FLAGS);
            for (int r = 0; r < 16; r++) xmm(r, random.nextInt(3));
            // a few sticky flags, all exceptions masked, a random rounding mode now and then
            int mxcsr = 0x1F80 | random.nextInt(64) & (random.nextBoolean() ? 0x3F : 0);
            if (random.nextInt(4) == 0) mxcsr |= random.nextInt(4) << 13;
            if (random.nextInt(6) == 0) mxcsr |= 0x40; // DAZ
            if (random.nextInt(6) == 0) mxcsr |= 0x8000; // FTZ
            setMxcsr(mxcsr);
        }

        void setMxcsr(int v) {
            FpuState.putInt(fx, 24, v);
        }

        /** Fills XMM r with floats (0), doubles (1) or integer patterns (2). */
        void xmm(int r, int kind) {
            for (int h = 0; h < 2; h++) {
                long v = kind == 0 ? packedF32() : kind == 1 ? f64() : ints();
                FpuState.putLong(fx, 160 + 16 * r + 8 * h, v);
            }
        }

        void data(int off, long v, int size) {
            for (int i = 0; i < size; i++) data[off + i] = (byte) (v >>> (8 * i));
        }

        /** Fills the x87 stack: TOP, {@code n} valid registers ST(0)..ST(n-1), a control word, some flags. */
        void x87(int n, int fcw) {
            int top = random.nextInt(8);
            int valid = 0;
            for (int i = 0; i < 8; i++) {
                long[] v = f80();
                if (i < n) {
                    valid |= 1 << ((top + i) & 7);
                } else if (random.nextBoolean()) {
                    v = new long[] {random.nextLong(), random.nextInt(0x10000)}; // stale contents of an empty register
                }
                FpuState.putLong(fx, 32 + 16 * i, v[0]);
                FpuState.putShort(fx, 40 + 16 * i, (int) v[1]);
            }
            int fsw = top << 11 | random.nextInt(16) << 8 & 0x4700 | (random.nextBoolean() ? random.nextInt(64) & ~fcw & 0 : 0);
            fsw |= random.nextInt(0x40) & fcw & 0x3F; // only masked sticky flags: no pending #MF
            FpuState.putShort(fx, 0, fcw);
            FpuState.putShort(fx, 2, fsw);
            fx[4] = (byte) valid;
        }

        void st(int i, long[] v) {
            FpuState.putLong(fx, 32 + 16 * i, v[0]);
            FpuState.putShort(fx, 40 + 16 * i, (int) v[1]);
        }
    }

    private int fcw() {
        int fcw = 0x37F;
        switch (random.nextInt(6)) {
            case 0 -> fcw = 0x037F & ~0x300 | random.nextInt(4) << 8; // precision control
            case 1 -> fcw = 0x037F | random.nextInt(4) << 10; // rounding control
            case 2 -> fcw = 0x007F | random.nextInt(16) << 8;
            default -> { }
        }
        return fcw;
    }

    private void add(String kind, String asm, State s) {
        cases.add(new DiffCase(kind, asm, s.gprs.clone(), s.rflags, s.data.clone(), 0, 0, s.fx.clone(),
                (BitSet) s.undefined.clone()));
    }

    private String x(int r) {
        return "%xmm" + r;
    }

    private int xr() {
        return random.nextInt(16);
    }

    /** An aligned offset in the data buffer for {@code size} bytes. */
    private int off(int size) {
        int[] offs = {0, 0x10, 0x40, 0x80, 0x100, 0x1F0};
        int o = offs[random.nextInt(offs.length)];
        return Math.min(o, DATA_SIZE - size) & ~(Math.min(size, 16) - 1);
    }

    private String m(int off) {
        return String.format("0x%x(%%rbx)", off);
    }

    /** Fills the data at {@code off} with the value kind (0 floats, 1 doubles, 2 integers). */
    private void fill(State s, int off, int size, int kind) {
        for (int i = 0; i < size; i += 8) {
            long v = kind == 0 ? packedF32() : kind == 1 ? f64() : ints();
            s.data(off + i, v, Math.min(8, size - i));
        }
    }

    // ---- SSE ----

    private void sseMoves() {
        String[][] loads = {{"movups", "16", "0"}, {"movaps", "16", "0"}, {"movupd", "16", "1"}, {"movapd", "16", "1"},
            {"movdqa", "16", "2"}, {"movdqu", "16", "2"}, {"movss", "4", "0"}, {"movsd", "8", "1"},
            {"movlps", "8", "0"}, {"movhps", "8", "0"}, {"movlpd", "8", "1"}, {"movhpd", "8", "1"}, {"movq", "8", "2"}};
        for (String[] l : loads) {
            int size = Integer.parseInt(l[1]);
            int kind = Integer.parseInt(l[2]);
            for (int i = 0; i < perForm; i++) {
                State s = new State();
                int o = off(size);
                fill(s, o, size, kind);
                int a = xr(), b = xr();
                add(l[0] + " xmm,m", l[0] + " " + m(o) + ", " + x(a), s);
                add(l[0] + " m,xmm", l[0] + " " + x(a) + ", " + m(o), s);
                if (!l[0].startsWith("movl") && !l[0].startsWith("movh")) {
                    add(l[0] + " xmm,xmm", l[0] + " " + x(a) + ", " + x(b), s);
                }
            }
        }
        for (int i = 0; i < perForm; i++) {
            State s = new State();
            int a = xr(), b = xr();
            add("movhlps", "movhlps " + x(a) + ", " + x(b), s);
            add("movlhps", "movlhps " + x(a) + ", " + x(b), s);
            add("movmskps", "movmskps " + x(a) + ", %eax", s);
            add("movmskpd", "movmskpd " + x(a) + ", %r9d", s);
            add("pmovmskb", "pmovmskb " + x(a) + ", %ecx", s);
            add("movd r32->xmm", "movd %ecx, " + x(a), s);
            add("movq r64->xmm", "movq %rdx, " + x(a), s);
            add("movd xmm->r32", "movd " + x(a) + ", %esi", s);
            add("movq xmm->r64", "movq " + x(a) + ", %r10", s);
            add("movd m32->xmm", "movd 0x40(%rbx), " + x(a), s);
            add("movd xmm->m32", "movd " + x(a) + ", 0x44(%rbx)", s);
            add("movq xmm->m64", "movq " + x(a) + ", 0x48(%rbx)", s);
            add("movntdq", "movntdq " + x(a) + ", 0x80(%rbx)", s);
            add("movntps", "movntps " + x(a) + ", 0x90(%rbx)", s);
            add("movntpd", "movntpd " + x(a) + ", 0xa0(%rbx)", s);
            add("movnti", "movnti %rcx, 0x18(%rbx)", s);
            add("movnti 32", "movnti %ecx, 0x1c(%rbx)", s);
            int imm = random.nextInt(256);
            add("pinsrw r", "pinsrw $" + imm + ", %edx, " + x(a), s);
            add("pinsrw m", "pinsrw $" + imm + ", 0x22(%rbx), " + x(a), s);
            add("pextrw", "pextrw $" + imm + ", " + x(a) + ", %eax", s);
            s.gprs[7] = DATA + 0x30 + random.nextInt(0x100);
            add("maskmovdqu", "maskmovdqu " + x(b) + ", " + x(a), s);
            // misaligned 16-byte operands: #GP(0) for the aligned forms only
            add("movaps misaligned", "movaps 0x41(%rbx), " + x(a), s);
            add("movdqa misaligned store", "movdqa " + x(a) + ", 0x48(%rbx)", s);
            add("movdqu misaligned", "movdqu 0x43(%rbx), " + x(a), s);
            add("paddb misaligned", "paddb 0x44(%rbx), " + x(a), s);
            add("movsd misaligned", "movsd 0x43(%rbx), " + x(a), s);
        }
    }

    private static final String[] INT_OPS = {"punpcklbw", "punpcklwd", "punpckldq", "punpcklqdq", "punpckhbw",
        "punpckhwd", "punpckhdq", "punpckhqdq", "packsswb", "packuswb", "packssdw", "pcmpgtb", "pcmpgtw", "pcmpgtd",
        "pcmpeqb", "pcmpeqw", "pcmpeqd", "paddb", "paddw", "paddd", "paddq", "psubb", "psubw", "psubd", "psubq",
        "paddsb", "paddsw", "paddusb", "paddusw", "psubsb", "psubsw", "psubusb", "psubusw", "pminub", "pmaxub",
        "pminsw", "pmaxsw", "pavgb", "pavgw", "pmullw", "pmulhw", "pmulhuw", "pmuludq", "pmaddwd", "psadbw", "pand",
        "pandn", "por", "pxor", "andps", "andnps", "orps", "xorps", "andpd", "andnpd", "orpd", "xorpd", "unpcklps",
        "unpckhps", "unpcklpd", "unpckhpd"};

    private void sseInteger() {
        for (String op : INT_OPS) {
            for (int i = 0; i < perForm; i++) {
                State s = new State();
                int a = xr(), b = xr();
                s.xmm(a, 2);
                s.xmm(b, 2);
                if (i == 0) System.arraycopy(s.fx, 160 + 16 * a, s.fx, 160 + 16 * b, 16); // equal operands
                add(op + " xmm,xmm", op + " " + x(b) + ", " + x(a), s);
                int o = off(16);
                fill(s, o, 16, 2);
                add(op + " xmm,m128", op + " " + m(o) + ", " + x(a), s);
            }
        }
    }

    private void sseShifts() {
        String[] byXmm = {"psrlw", "psrld", "psrlq", "psraw", "psrad", "psllw", "pslld", "psllq"};
        long[] counts = {0, 1, 7, 15, 16, 31, 32, 63, 64, 65, 0x1_0000_0001L, -1};
        for (String op : byXmm) {
            for (int i = 0; i < perForm; i++) {
                State s = new State();
                int a = xr(), b = xr();
                s.xmm(a, 2);
                long c = random.nextBoolean() ? counts[random.nextInt(counts.length)] : random.nextInt(70);
                FpuState.putLong(s.fx, 160 + 16 * b, c);
                if (a != b) add(op + " xmm,xmm", op + " " + x(b) + ", " + x(a), s);
                s.data(0x60, c, 8);
                add(op + " xmm,m128", op + " 0x60(%rbx), " + x(a), s);
                add(op + " xmm,imm", op + " $" + random.nextInt(70) + ", " + x(a), s);
            }
        }
        for (String op : new String[] {"psrldq", "pslldq"}) {
            for (int i = 0; i < perForm; i++) {
                State s = new State();
                int a = xr();
                s.xmm(a, 2);
                add(op, op + " $" + (i == 0 ? 16 + random.nextInt(240) : random.nextInt(18)) + ", " + x(a), s);
            }
        }
    }

    private void sseShuffles() {
        String[] ops = {"pshufd", "pshufhw", "pshuflw", "shufps", "shufpd"};
        for (String op : ops) {
            for (int i = 0; i < perForm; i++) {
                State s = new State();
                int a = xr(), b = xr();
                int imm = random.nextInt(256);
                add(op + " xmm,xmm", op + " $" + imm + ", " + x(b) + ", " + x(a), s);
                int o = off(16);
                fill(s, o, 16, 2);
                add(op + " xmm,m128", op + " $" + imm + ", " + m(o) + ", " + x(a), s);
            }
        }
    }

    private void sseFloat() {
        String[] ops = {"add", "sub", "mul", "div", "sqrt", "min", "max"};
        String[] forms = {"ps", "pd", "ss", "sd"};
        for (String op : ops) {
            for (int f = 0; f < 4; f++) {
                String name = op + forms[f];
                int kind = f % 2;
                int size = f < 2 ? 16 : f == 2 ? 4 : 8;
                for (int i = 0; i < perForm * 2; i++) {
                    State s = new State();
                    int a = xr(), b = xr();
                    s.xmm(a, kind);
                    s.xmm(b, kind);
                    add(name + " xmm,xmm", name + " " + x(b) + ", " + x(a), s);
                    int o = off(size);
                    fill(s, o, size, kind);
                    add(name + " xmm,m", name + " " + m(o) + ", " + x(a), s);
                    if (i % 3 == 0) {
                        // an unmasked exception: #XM and nothing written
                        s.setMxcsr(0x1F80 & ~(1 << (7 + random.nextInt(6))) | random.nextInt(4) << 13);
                        add(name + " unmasked", name + " " + x(b) + ", " + x(a), s);
                    }
                }
            }
        }
    }

    /** RCP/RSQRT results are approximations (vendor tables): only the rest of the state is compared. */
    private void sseApproximations() {
        for (String op : new String[] {"rcpps", "rcpss", "rsqrtps", "rsqrtss"}) {
            for (int i = 0; i < perForm; i++) {
                State s = new State();
                int a = xr(), b = xr();
                s.xmm(b, 0);
                s.undefined.set(160 + 16 * a, 160 + 16 * a + 16);
                add(op, op + " " + x(b) + ", " + x(a), s);
            }
        }
    }

    private void sseCompare() {
        String[] forms = {"ps", "pd", "ss", "sd"};
        for (int f = 0; f < 4; f++) {
            for (int i = 0; i < perForm * 2; i++) {
                State s = new State();
                int a = xr(), b = xr();
                s.xmm(a, f % 2);
                s.xmm(b, f % 2);
                if (i % 4 == 0) System.arraycopy(s.fx, 160 + 16 * a, s.fx, 160 + 16 * b, 16);
                int pred = random.nextInt(8);
                add("cmp" + forms[f] + " " + pred, "cmp" + forms[f] + " $" + pred + ", " + x(b) + ", " + x(a), s);
                if (f >= 2) {
                    String t = f == 2 ? "s" : "d";
                    add("comis" + t, "comis" + t + " " + x(b) + ", " + x(a), s);
                    add("ucomis" + t, "ucomis" + t + " " + x(b) + ", " + x(a), s);
                    int o = off(8);
                    fill(s, o, 8, f % 2);
                    add("comis" + t + " m", "comis" + t + " " + m(o) + ", " + x(a), s);
                }
            }
        }
    }

    private void sseConvert() {
        String[][] forms = {{"cvtps2pd", "0"}, {"cvtpd2ps", "1"}, {"cvtss2sd", "0"}, {"cvtsd2ss", "1"},
            {"cvtdq2ps", "2"}, {"cvtps2dq", "0"}, {"cvttps2dq", "0"}, {"cvtdq2pd", "2"}, {"cvtpd2dq", "1"},
            {"cvttpd2dq", "1"}};
        for (String[] f : forms) {
            for (int i = 0; i < perForm * 2; i++) {
                State s = new State();
                int a = xr(), b = xr();
                s.xmm(b, Integer.parseInt(f[1]));
                add(f[0] + " xmm,xmm", f[0] + " " + x(b) + ", " + x(a), s);
                int o = off(16);
                fill(s, o, 16, Integer.parseInt(f[1]));
                add(f[0] + " xmm,m", f[0] + " " + m(o) + ", " + x(a), s);
            }
        }
        for (int i = 0; i < perForm * 3; i++) {
            State s = new State();
            int a = xr(), b = xr();
            s.xmm(b, 0);
            s.gprs[1] = random.nextBoolean() ? ints() : random.nextInt(1 << 26) - (1 << 25);
            add("cvtsi2ss r32", "cvtsi2ss %ecx, " + x(a), s);
            add("cvtsi2ss r64", "cvtsi2ssq %rcx, " + x(a), s);
            add("cvtsi2sd r32", "cvtsi2sd %ecx, " + x(a), s);
            add("cvtsi2sd r64", "cvtsi2sdq %rcx, " + x(a), s);
            s.data(0x20, ints(), 8);
            add("cvtsi2sd m32", "cvtsi2sdl 0x20(%rbx), " + x(a), s);
            add("cvtsi2ss m64", "cvtsi2ssq 0x20(%rbx), " + x(a), s);
            add("cvtss2si r32", "cvtss2si " + x(b) + ", %eax", s);
            add("cvtss2si r64", "cvtss2si " + x(b) + ", %rax", s);
            add("cvttss2si r32", "cvttss2si " + x(b) + ", %edx", s);
            add("cvttss2si r64", "cvttss2si " + x(b) + ", %r11", s);
            s.xmm(b, 1);
            add("cvtsd2si r32", "cvtsd2si " + x(b) + ", %eax", s);
            add("cvtsd2si r64", "cvtsd2si " + x(b) + ", %rax", s);
            add("cvttsd2si r32", "cvttsd2si " + x(b) + ", %edx", s);
            add("cvttsd2si r64", "cvttsd2si " + x(b) + ", %r11", s);
            fill(s, 0x30, 8, 1);
            add("cvtsd2si m64", "cvtsd2si 0x30(%rbx), %r8", s);
        }
    }

    private void sseControl() {
        for (int i = 0; i < perForm; i++) {
            State s = new State();
            int v = 0x1F80 ^ random.nextInt(1 << 16);
            s.data(0x40, v, 4);
            add("ldmxcsr", "ldmxcsr 0x40(%rbx)", s);
            s.data(0x40, v | 1 << (18 + random.nextInt(14)), 4); // bit 17 is AMD's MM (MXCSR_MASK 0x2FFFF)
            add("ldmxcsr reserved", "ldmxcsr 0x40(%rbx)", s);
            add("stmxcsr", "stmxcsr 0x44(%rbx)", s);
            add("fences and hints", "lfence; sfence; mfence; pause; prefetcht0 0x40(%rbx); prefetchnta 0x80(%rbx); "
                    + "prefetcht1 (%rbx); prefetcht2 8(%rbx); clflush 0x40(%rbx)", s);
            s.x87(random.nextInt(9), fcw());
            add("fxsave", "fxsave64 (%rbx); movw $0, 6(%rbx); movq $0, 8(%rbx); movq $0, 16(%rbx); movl $0, 28(%rbx)", s);
            add("fxsave misaligned", "fxsave64 8(%rbx)", s);
            // FXRSTOR of an image built in the data buffer
            State t = new State();
            t.x87(random.nextInt(9), fcw());
            System.arraycopy(t.fx, 0, s.data, 0, 416);
            s.data[4] = (byte) random.nextInt(256);
            add("fxrstor", "fxrstor64 (%rbx)", s);
            s.data(24, 0x1F80 | 1 << 16, 4);
            add("fxrstor reserved mxcsr", "fxrstor64 (%rbx)", s);
        }
    }

    // ---- x87 ----

    private void x87Loads() {
        for (int i = 0; i < perForm * 2; i++) {
            State s = new State();
            s.x87(random.nextInt(9), fcw());
            s.data(0x10, f32(), 4);
            s.data(0x20, f64(), 8);
            long[] e = f80();
            s.data(0x30, e[0], 8);
            s.data(0x38, e[1], 2);
            s.data(0x40, ints(), 8);
            add("fld m32", "flds 0x10(%rbx)", s);
            add("fld m64", "fldl 0x20(%rbx)", s);
            add("fld m80", "fldt 0x30(%rbx)", s);
            add("fild m16", "filds 0x40(%rbx)", s);
            add("fild m32", "fildl 0x40(%rbx)", s);
            add("fild m64", "fildll 0x40(%rbx)", s);
            add("fld st(i)", "fld %st(" + random.nextInt(8) + ")", s);
            String[] consts = {"fld1", "fldz", "fldpi", "fldl2e", "fldl2t", "fldlg2", "fldln2"};
            for (String c : consts) add(c, c, s);
        }
    }

    private void x87Stores() {
        String[][] forms = {{"fsts", "m32"}, {"fstps", "m32"}, {"fstl", "m64"}, {"fstpl", "m64"}, {"fstpt", "m80"},
            {"fists", "m16"}, {"fistps", "m16"}, {"fistl", "m32"}, {"fistpl", "m32"}, {"fistpll", "m64"},
            {"fisttps", "m16"}, {"fisttpl", "m32"}, {"fisttpll", "m64"}};
        for (String[] f : forms) {
            for (int i = 0; i < perForm * 2; i++) {
                State s = new State();
                s.x87(i == 0 ? 0 : 1 + random.nextInt(8), fcw());
                if (f[0].startsWith("fist") && random.nextBoolean()) {
                    // near the integer limits
                    long lim = f[1].equals("m16") ? 32768 : f[1].equals("m32") ? 1L << 31 : 1L << 62;
                    double v = (random.nextBoolean() ? 1 : -1) * (lim + random.nextInt(5) - 2.5 + random.nextInt(2) * 0.5);
                    s.st(0, fromDouble(v));
                }
                add(f[0] + " " + f[1], f[0] + " 0x50(%rbx)", s);
            }
        }
        for (int i = 0; i < perForm * 2; i++) {
            State s = new State();
            s.x87(i == 0 ? 0 : 1 + random.nextInt(8), fcw());
            if (random.nextBoolean()) {
                double v = (random.nextBoolean() ? 1 : -1) * Math.pow(10, random.nextInt(19)) * (0.5 + random.nextDouble());
                s.st(0, fromDouble(random.nextBoolean() ? Math.rint(v) : v));
            }
            add("fbstp", "fbstp 0x50(%rbx)", s);
            long bcd = 0;
            for (int k = 0; k < 16; k++) bcd |= (long) random.nextInt(10) << (4 * k);
            s.data(0x60, bcd, 8);
            s.data(0x68, random.nextInt(10) | random.nextInt(10) << 4 | (random.nextBoolean() ? 0x8000 : 0), 2);
            add("fbld", "fbld 0x60(%rbx)", s);
        }
        for (int i = 0; i < perForm; i++) {
            State s = new State();
            s.x87(random.nextInt(9), fcw());
            int k = random.nextInt(8);
            add("fst st(i)", "fst %st(" + k + ")", s);
            add("fstp st(i)", "fstp %st(" + k + ")", s);
        }
    }

    private void x87Arith() {
        String[] ops = {"fadd", "fmul", "fsub", "fsubr", "fdiv", "fdivr"};
        for (String op : ops) {
            for (int i = 0; i < perForm * 2; i++) {
                State s = new State();
                s.x87(i == 0 ? random.nextInt(2) : 2 + random.nextInt(7), fcw());
                s.data(0x10, f32(), 4);
                s.data(0x20, f64(), 8);
                s.data(0x40, ints(), 8);
                int k = random.nextInt(8);
                add(op + " m32", op + "s 0x10(%rbx)", s);
                add(op + " m64", op + "l 0x20(%rbx)", s);
                add("fi" + op.substring(1) + " m16", "fi" + op.substring(1) + "s 0x40(%rbx)", s);
                add("fi" + op.substring(1) + " m32", "fi" + op.substring(1) + "l 0x40(%rbx)", s);
                add(op + " st,st(i)", op + " %st(" + k + "), %st", s);
                add(op + " st(i),st", op + " %st, %st(" + k + ")", s);
                add(op + "p st(i),st", op + "p %st, %st(" + k + ")", s);
            }
        }
        for (String op : new String[] {"fsqrt", "frndint", "fchs", "fabs", "fscale", "fxtract", "fprem", "fprem1"}) {
            for (int i = 0; i < perForm * 2; i++) {
                State s = new State();
                s.x87(i == 0 ? random.nextInt(2) : 2 + random.nextInt(7), fcw());
                if (op.equals("fscale") && random.nextBoolean()) s.st(1, fromDouble(random.nextInt(200) - 100 + random.nextInt(4) / 4.0));
                add(op, op, s);
            }
        }
    }

    private void x87Compare() {
        for (int i = 0; i < perForm * 3; i++) {
            State s = new State();
            s.x87(i == 0 ? random.nextInt(2) : 2 + random.nextInt(7), fcw());
            if (i % 3 == 1) s.st(1, fromDouble(0.0));
            s.data(0x10, f32(), 4);
            s.data(0x20, f64(), 8);
            s.data(0x40, ints(), 4);
            int k = random.nextInt(8);
            add("fcom st(i)", "fcom %st(" + k + ")", s);
            add("fcomp st(i)", "fcomp %st(" + k + ")", s);
            add("fcompp", "fcompp", s);
            add("fucom", "fucom %st(" + k + ")", s);
            add("fucomp", "fucomp %st(" + k + ")", s);
            add("fucompp", "fucompp", s);
            add("fcom m32", "fcoms 0x10(%rbx)", s);
            add("fcomp m64", "fcompl 0x20(%rbx)", s);
            add("ficom m16", "ficoms 0x40(%rbx)", s);
            add("ficomp m32", "ficompl 0x40(%rbx)", s);
            add("fcomi", "fcomi %st(" + k + "), %st", s);
            add("fucomi", "fucomi %st(" + k + "), %st", s);
            add("fcomip", "fcomip %st(" + k + "), %st", s);
            add("fucomip", "fucomip %st(" + k + "), %st", s);
            add("ftst", "ftst", s);
            add("fxam", "fxam", s);
            add("fnstsw ax", "fnstsw %ax", s);
            String[] cmov = {"fcmovb", "fcmove", "fcmovbe", "fcmovu", "fcmovnb", "fcmovne", "fcmovnbe", "fcmovnu"};
            add("fcmov", cmov[random.nextInt(8)] + " %st(" + k + "), %st", s);
        }
    }

    private void x87Misc() {
        for (int i = 0; i < perForm; i++) {
            State s = new State();
            s.x87(random.nextInt(9), fcw());
            int k = random.nextInt(8);
            add("fxch", "fxch %st(" + k + ")", s);
            add("ffree", "ffree %st(" + k + ")", s);
            add("fincstp", "fincstp", s);
            add("fdecstp", "fdecstp", s);
            add("fnop", "fnop", s);
            add("fwait", "fwait", s);
            add("fld sequence", "fld1; fldpi; fmul %st(1), %st; fsqrt; fstpl 0x10(%rbx); fistpl 0x18(%rbx)", s);
            add("ffreep", ".byte 0xdf, 0xc0 + " + k, s);
            // the undocumented aliases: FCOM2 (DC D0+i), FCOMP3 (DC D8+i), FCOMP5 (DE D0+i), FXCH4 (DD C8+i),
            // FXCH7 (DF C8+i), FSTP1 (D9 D8+i), FSTP8 (DF D0+i), FSTP9 (DF D8+i)
            int[][] aliases = {{0xdc, 0xd0}, {0xdc, 0xd8}, {0xde, 0xd0}, {0xdd, 0xc8}, {0xdf, 0xc8}, {0xd9, 0xd8},
                {0xdf, 0xd0}, {0xdf, 0xd8}};
            int[] a = aliases[random.nextInt(aliases.length)];
            add("x87 alias " + Integer.toHexString(a[0]) + " " + Integer.toHexString(a[1]),
                    String.format(".byte 0x%x, 0x%x", a[0], a[1] + k), s);
            add("fneni/fndisi/fsetpm", ".byte 0xdb, 0xe0; .byte 0xdb, 0xe1; .byte 0xdb, 0xe4", s);
        }
    }

    private void x87Control() {
        for (int i = 0; i < perForm; i++) {
            State s = new State();
            s.x87(random.nextInt(9), fcw());
            s.data(0x10, 0x0300 | random.nextInt(0x10000) & 0x0F3F, 2);
            add("fldcw", "fldcw 0x10(%rbx)", s);
            add("fnstcw", "fnstcw 0x12(%rbx)", s);
            add("fnstsw m16", "fnstsw 0x14(%rbx)", s);
            add("fnclex", "fnclex", s);
            add("fninit", "fninit", s);
            add("fnstenv", "fnstenv 0x20(%rbx); movq $0, 0x2c(%rbx); movq $0, 0x34(%rbx)", s);
            add("fnsave", "fnsave 0x20(%rbx); movq $0, 0x2c(%rbx); movq $0, 0x34(%rbx)", s);
            add("fldenv", "fnstenv 0x20(%rbx); fninit; fldenv 0x20(%rbx); movq $0, 0x2c(%rbx); movq $0, 0x34(%rbx)", s);
            add("frstor", "fnsave 0x20(%rbx); frstor 0x20(%rbx); movq $0, 0x2c(%rbx); movq $0, 0x34(%rbx)", s);
            // an unmasked exception is pending after the instruction and taken by the next waiting one: #MF
            State u = new State();
            u.x87(2, 0x37F & ~(1 << random.nextInt(6)));
            add("unmasked x87 then fwait", "fdivr %st(1), %st; fwait", u);
        }
    }
}
