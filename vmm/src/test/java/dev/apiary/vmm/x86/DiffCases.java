package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.DiffLayout.DATA;
import static dev.apiary.vmm.x86.DiffLayout.DATA_SIZE;
import static dev.apiary.vmm.x86.DiffLayout.STACK_TOP;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Generates the differential cases: every integer opcode family in every operand size, register and memory
 * forms, with edge values (0, 1, -1, the signed limits, patterns) and random ones, from a fixed seed so
 * every build runs the same cases. RBX always holds {@link DiffLayout#DATA}, so memory operands are
 * {@code disp(%rbx)} and land in the compared data buffer; RSP is {@link DiffLayout#STACK_TOP}.
 */
final class DiffCases {
    static final int[] SIZES = {8, 16, 32, 64};
    private static final String[] Q = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                       "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
    private static final String[] D = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                                       "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
    private static final String[] W = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
                                       "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"};
    private static final String[] B = {"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
                                       "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"};
    private static final String[] HIGH = {"ah", "ch", "dh", "bh"};
    /** Registers free for operands: not RSP (the stack) and not RBX (the data pointer). */
    private static final int[] FREE = {0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static final String[] CONDITIONS = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                        "s", "ns", "p", "np", "l", "ge", "le", "g"};

    private final Random random;
    private final List<DiffCase> cases = new ArrayList<>();
    private final int perForm;

    private DiffCases(long seed, int perForm) {
        this.random = new Random(seed);
        this.perForm = perForm;
    }

    /** All families; {@code perForm} cases per operand form (the total is a few thousand at 6-8). */
    static List<DiffCase> all(long seed, int perForm) {
        return all(seed, perForm, false);
    }

    /**
     * All families, with LZCNT where the host executes it (F3 0F BD is BSR on a CPU without it, whatever
     * the emulated CPUID says).
     */
    static List<DiffCase> all(long seed, int perForm, boolean hostLzcnt) {
        DiffCases g = new DiffCases(seed, perForm);
        g.bitCounts(hostLzcnt);
        g.alu();
        g.unary();
        g.multiplyDivide();
        g.shifts();
        g.doubleShifts();
        g.bitTests();
        g.bitScans();
        g.exchanges();
        g.extensions();
        g.conditionals();
        g.lea();
        g.strings();
        g.moves();
        g.stackAndFlags();
        g.invalidIn64();
        g.prefixes();
        return g.cases;
    }

    // ---- operands ----

    /** A register or memory operand of one size. */
    private record Operand(int bits, int reg, boolean high, int disp) {
        boolean memory() {
            return reg < 0;
        }

        String text() {
            if (memory()) return String.format("0x%x(%%rbx)", disp);
            if (high) return "%" + HIGH[reg];
            return "%" + switch (bits) {
                case 8 -> B[reg];
                case 16 -> W[reg];
                case 32 -> D[reg];
                default -> Q[reg];
            };
        }
    }

    /** Inputs under construction. */
    private final class Inputs {
        final long[] gprs = new long[16];
        final byte[] data = new byte[DATA_SIZE];
        long rflags;

        Inputs() {
            for (int i = 0; i < 16; i++) gprs[i] = value(64);
            random.nextBytes(data);
            gprs[3] = DATA;
            gprs[4] = STACK_TOP;
            rflags = DiffLayout.FIXED_FLAGS | (random.nextLong() & DiffLayout.COMPARED_FLAGS);
        }

        void set(Operand o, long v) {
            if (o.memory()) {
                for (int i = 0; i < o.bits / 8; i++) data[o.disp + i] = (byte) (v >>> (8 * i));
            } else if (o.high) {
                gprs[o.reg] = gprs[o.reg] & ~0xFF00L | (v & 0xFF) << 8;
            } else {
                long m = mask(o.bits);
                gprs[o.reg] = gprs[o.reg] & ~m | v & m;
            }
        }

        Inputs flags(long set, long clear) {
            rflags = rflags & ~clear | set;
            return this;
        }
    }

    static long mask(int bits) {
        return bits == 64 ? -1L : (1L << bits) - 1;
    }

    /** An edge or random value of {@code bits}, sometimes with random bits above (which must not matter). */
    private long value(int bits) {
        long m = mask(bits);
        long sign = 1L << (bits - 1);
        long v = switch (random.nextInt(14)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> -1;
            case 3 -> sign - 1;
            case 4 -> sign;
            case 5 -> sign + 1;
            case 6 -> -2;
            case 7 -> random.nextInt(16);
            case 8 -> 0x5555_5555_5555_5555L;
            case 9 -> 0xAAAA_AAAA_AAAA_AAAAL;
            case 10 -> sign >>> 1;
            default -> random.nextLong();
        };
        return random.nextBoolean() ? v & m : v & m | random.nextLong() & ~m;
    }

    private int freeReg(int... except) {
        while (true) {
            int r = FREE[random.nextInt(FREE.length)];
            boolean taken = false;
            for (int e : except) taken |= e == r;
            if (!taken) return r;
        }
    }

    /**
     * A register operand of {@code bits}; 8-bit ones are either AH..DH (legacy) or SPL..R15B (REX), never
     * mixed in one instruction, so {@code legacy8} picks the set.
     */
    private Operand reg(int bits, boolean legacy8, int... except) {
        if (bits == 8 && legacy8) {
            int r;
            boolean high;
            do {
                r = random.nextInt(3); // AL/CL/DL or AH/CH/DH: BL/BH belong to the data pointer
                high = random.nextBoolean();
                boolean taken = false;
                for (int e : except) taken |= e == r;
                if (!taken) break;
            } while (true);
            return new Operand(8, r, high, 0);
        }
        int r = freeReg(except);
        if (bits == 8 && legacy8) r = r & 3;
        return new Operand(bits, r, false, 0);
    }

    private Operand mem(int bits) {
        int[] disps = {0, 8, 0x41, 0x100, 0x1F7, 0x13};
        int d = disps[random.nextInt(disps.length)];
        return new Operand(bits, -1, false, Math.min(d, DATA_SIZE - bits / 8));
    }

    private static String suffix(int bits) {
        return switch (bits) {
            case 8 -> "b";
            case 16 -> "w";
            case 32 -> "l";
            default -> "q";
        };
    }

    private static String form(int bits) {
        return switch (bits) {
            case 8 -> "8";
            case 16 -> "16";
            case 32 -> "32";
            default -> "64";
        };
    }

    private void add(String kind, String asm, Inputs in, long undefinedFlags, int undefinedGprs) {
        cases.add(new DiffCase(kind, asm, in.gprs.clone(), in.rflags, in.data.clone(), undefinedFlags, undefinedGprs));
    }

    private void add(String kind, String asm, Inputs in, long undefinedFlags) {
        add(kind, asm, in, undefinedFlags, 0);
    }

    private long imm(int bits) {
        long v = value(bits);
        return switch (random.nextInt(3)) {
            case 0 -> (byte) v; // the sign-extended imm8 forms (83, 6B, C1-style)
            default -> bits == 64 ? (int) v : v & mask(Math.min(bits, 32));
        };
    }

    // ---- families ----

    private void alu() {
        String[] ops = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
        for (String op : ops) {
            long u = UndefinedFlags.of(op);
            for (int bits : SIZES) {
                String s = suffix(bits);
                for (int i = 0; i < perForm; i++) {
                    boolean legacy = random.nextBoolean();
                    Inputs in = new Inputs();
                    Operand a = reg(bits, legacy), b = reg(bits, legacy, a.reg);
                    in.set(a, value(bits));
                    in.set(b, i == 0 ? in.gprs[a.reg] >>> (a.high ? 8 : 0) : value(bits));
                    String dir = random.nextBoolean() ? "{load} " : "{store} ";
                    add(op + " r" + bits + ",r" + bits, dir + op + s + " " + b.text() + ", " + a.text(), in, u);

                    in = new Inputs();
                    Operand m = mem(bits);
                    in.set(m, value(bits));
                    in.set(a, value(bits));
                    add(op + " m" + bits + ",r" + bits, op + s + " " + a.text() + ", " + m.text(), in, u);
                    add(op + " r" + bits + ",m" + bits, op + s + " " + m.text() + ", " + a.text(), in, u);

                    in = new Inputs();
                    Operand acc = random.nextInt(3) == 0 ? new Operand(bits, 0, false, 0) : a;
                    in.set(acc, value(bits));
                    long k = imm(bits);
                    add(op + " r" + bits + ",imm", op + s + " $" + k + ", " + acc.text(), in, u);
                    in.set(m, value(bits));
                    add(op + " m" + bits + ",imm", op + s + " $" + k + ", " + m.text(), in, u);
                }
            }
        }
        for (int bits : SIZES) {
            for (int i = 0; i < perForm; i++) {
                Inputs in = new Inputs();
                Operand a = reg(bits, false), b = reg(bits, false, a.reg), m = mem(bits);
                in.set(a, value(bits));
                in.set(b, value(bits));
                in.set(m, value(bits));
                String s = suffix(bits);
                long u = UndefinedFlags.of("test");
                add("test r" + bits + ",r" + bits, "test" + s + " " + b.text() + ", " + a.text(), in, u);
                add("test m" + bits + ",r" + bits, "test" + s + " " + a.text() + ", " + m.text(), in, u);
                add("test r" + bits + ",imm", "test" + s + " $" + imm(bits) + ", " + a.text(), in, u);
                add("test m" + bits + ",imm", "test" + s + " $" + imm(bits) + ", " + m.text(), in, u);
                add("lock add m" + bits + ",r" + bits, "lock add" + s + " " + a.text() + ", " + m.text(), in, 0);
            }
        }
    }

    private void unary() {
        for (String op : new String[] {"inc", "dec", "neg", "not"}) {
            for (int bits : SIZES) {
                for (int i = 0; i < perForm; i++) {
                    Inputs in = new Inputs();
                    Operand r = reg(bits, random.nextBoolean()), m = mem(bits);
                    in.set(r, value(bits));
                    in.set(m, value(bits));
                    add(op + " r" + bits, op + suffix(bits) + " " + r.text(), in, 0);
                    add(op + " m" + bits, op + suffix(bits) + " " + m.text(), in, 0);
                }
            }
        }
    }

    private void multiplyDivide() {
        for (int bits : SIZES) {
            String s = suffix(bits);
            Operand acc = new Operand(bits, 0, false, 0);
            Operand hi = new Operand(bits, 2, false, 0);
            for (int i = 0; i < 2 * perForm; i++) {
                for (String op : new String[] {"mul", "imul"}) {
                    Inputs in = new Inputs();
                    Operand r = reg(bits, random.nextBoolean(), 0, 2), m = mem(bits);
                    in.set(acc, value(bits));
                    in.set(r, value(bits));
                    in.set(m, value(bits));
                    long u = UndefinedFlags.of(op);
                    add(op + " r" + bits, op + s + " " + r.text(), in, u);
                    add(op + " m" + bits, op + s + " " + m.text(), in, u);
                }
                for (String op : new String[] {"div", "idiv"}) {
                    Inputs in = new Inputs();
                    Operand r = reg(bits, false, 0, 2), m = mem(bits);
                    long divisor = random.nextInt(8) == 0 ? 0 : value(bits);
                    in.set(r, divisor);
                    in.set(m, divisor);
                    in.set(acc, value(bits));
                    // Mostly quotients that fit (high half below the divisor), some that overflow (#DE).
                    long high = random.nextInt(4) == 0 ? value(bits) : 0;
                    if (op.equals("idiv") && random.nextBoolean()) {
                        long a = in.gprs[0] << (64 - bits) >> (64 - bits);
                        high = a < 0 ? -1 : 0;
                    }
                    if (bits == 8) {
                        in.gprs[0] = in.gprs[0] & ~0xFF00L | (high & 0xFF) << 8;
                    } else {
                        in.set(hi, high);
                    }
                    long u = UndefinedFlags.of(op);
                    add(op + " r" + bits, op + s + " " + r.text(), in, u);
                    add(op + " m" + bits, op + s + " " + m.text(), in, u);
                }
                if (bits > 8) {
                    Inputs in = new Inputs();
                    Operand a = reg(bits, false), b = reg(bits, false, a.reg), m = mem(bits);
                    in.set(a, value(bits));
                    in.set(b, value(bits));
                    in.set(m, value(bits));
                    long u = UndefinedFlags.of("imul");
                    add("imul r" + bits + ",r" + bits, "imul" + s + " " + b.text() + ", " + a.text(), in, u);
                    add("imul r" + bits + ",m" + bits, "imul" + s + " " + m.text() + ", " + a.text(), in, u);
                    long k = imm(bits);
                    add("imul r" + bits + ",r" + bits + ",imm", "imul" + s + " $" + k + ", " + b.text() + ", " + a.text(), in, u);
                    add("imul r" + bits + ",m" + bits + ",imm", "imul" + s + " $" + k + ", " + m.text() + ", " + a.text(), in, u);
                }
            }
        }
    }

    private int count(int bits) {
        int[] edges = {0, 1, 2, bits - 1, bits, bits + 1, 31, 32, 33, 63, 64, 65, 9, 17, 255};
        return random.nextInt(3) == 0 ? random.nextInt(256) : edges[random.nextInt(edges.length)];
    }

    private void shifts() {
        String[] ops = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sar"};
        for (String op : ops) {
            boolean rotate = op.startsWith("r");
            for (int bits : SIZES) {
                String s = suffix(bits);
                for (int i = 0; i < 2 * perForm; i++) {
                    Inputs in = new Inputs();
                    Operand r = reg(bits, random.nextBoolean(), 1), m = mem(bits);
                    in.set(r, value(bits));
                    in.set(m, value(bits));
                    int c = count(bits);
                    in.gprs[1] = in.gprs[1] & ~0xFFL | c;
                    long u = rotate ? UndefinedFlags.rotate(c, bits) : UndefinedFlags.shift(op, c, bits);
                    long u1 = rotate ? UndefinedFlags.rotate(1, bits) : UndefinedFlags.shift(op, 1, bits);
                    add(op + " r" + bits + ",cl", op + s + " %cl, " + r.text(), in, u);
                    add(op + " m" + bits + ",cl", op + s + " %cl, " + m.text(), in, u);
                    add(op + " r" + bits + ",imm8", op + s + " $" + c + ", " + r.text(), in, u);
                    add(op + " m" + bits + ",imm8", op + s + " $" + c + ", " + m.text(), in, u);
                    add(op + " r" + bits + ",1", op + s + " " + r.text(), in, u1);
                    add(op + " m" + bits + ",1", op + s + " " + m.text(), in, u1);
                }
            }
        }
        // D0-D3/C0-C1 /6 is an undocumented alias of SHL that real CPUs execute (SAL encoding).
        for (int i = 0; i < perForm; i++) {
            Inputs in = new Inputs();
            int c = count(32);
            in.gprs[1] = c;
            add("sal /6 r32,cl", ".byte 0xd3, 0xf0", in, UndefinedFlags.shift("shl", c, 32));
        }
    }

    private void doubleShifts() {
        for (String op : new String[] {"shld", "shrd"}) {
            for (int bits : new int[] {16, 32, 64}) {
                String s = suffix(bits);
                for (int i = 0; i < 2 * perForm; i++) {
                    Inputs in = new Inputs();
                    Operand d = reg(bits, false, 1), src = reg(bits, false, 1, d.reg), m = mem(bits);
                    in.set(d, value(bits));
                    in.set(src, value(bits));
                    in.set(m, value(bits));
                    int c = count(bits);
                    in.gprs[1] = in.gprs[1] & ~0xFFL | c;
                    long u = UndefinedFlags.doubleShift(c, bits);
                    int ur = u == UndefinedFlags.ALL ? 1 << d.reg : 0;
                    add(op + " r" + bits + ",r,cl", op + s + " %cl, " + src.text() + ", " + d.text(), in, u, ur);
                    add(op + " r" + bits + ",r,imm8", op + s + " $" + c + ", " + src.text() + ", " + d.text(), in, u, ur);
                    if (u != UndefinedFlags.ALL) {
                        add(op + " m" + bits + ",r,cl", op + s + " %cl, " + src.text() + ", " + m.text(), in, u);
                        add(op + " m" + bits + ",r,imm8", op + s + " $" + c + ", " + src.text() + ", " + m.text(), in, u);
                    }
                }
            }
        }
    }

    private void bitTests() {
        for (String op : new String[] {"bt", "bts", "btr", "btc"}) {
            long u = UndefinedFlags.of(op);
            for (int bits : new int[] {16, 32, 64}) {
                String s = suffix(bits);
                for (int i = 0; i < perForm; i++) {
                    Inputs in = new Inputs();
                    Operand d = reg(bits, false), b = reg(bits, false, d.reg);
                    in.set(d, value(bits));
                    in.set(b, value(bits));
                    add(op + " r" + bits + ",r" + bits, op + s + " " + b.text() + ", " + d.text(), in, u);
                    int k = random.nextInt(256);
                    add(op + " r" + bits + ",imm8", op + s + " $" + k + ", " + d.text(), in, u);
                    // The bit-string form: a register offset reaches bytes before and after the operand.
                    Operand m = new Operand(bits, -1, false, 0x100);
                    in.set(b, random.nextInt(2048) - 1024);
                    add(op + " m" + bits + ",r" + bits, op + s + " " + b.text() + ", " + m.text(), in, u);
                    add(op + " m" + bits + ",imm8", op + s + " $" + k + ", " + m.text(), in, u);
                }
            }
        }
    }

    private void bitScans() {
        for (String op : new String[] {"bsf", "bsr"}) {
            long u = UndefinedFlags.of(op);
            for (int bits : new int[] {16, 32, 64}) {
                String s = suffix(bits);
                for (int i = 0; i < 2 * perForm; i++) {
                    Inputs in = new Inputs();
                    Operand d = reg(bits, false), src = reg(bits, false, d.reg), m = mem(bits);
                    long v = i % 4 == 0 ? 0 : value(bits);
                    in.set(src, v);
                    in.set(m, v);
                    // A zero source leaves the destination undefined (Intel; AMD documents it unchanged).
                    int ur = (v & mask(bits)) == 0 ? 1 << d.reg : 0;
                    add(op + " r" + bits + ",r" + bits, op + s + " " + src.text() + ", " + d.text(), in, u, ur);
                    add(op + " r" + bits + ",m" + bits, op + s + " " + m.text() + ", " + d.text(), in, u, ur);
                }
            }
        }
        for (int bits : new int[] {32, 64}) {
            for (int i = 0; i < perForm; i++) {
                Inputs in = new Inputs();
                Operand r = reg(bits, false);
                in.set(r, value(bits));
                add("bswap r" + bits, "bswap " + r.text(), in, 0);
            }
        }
    }

    /** POPCNT (CPUID.1:ECX.23) and LZCNT (CPUID.80000001H:ECX.5), both advertised by the emulator. */
    private void bitCounts(boolean lzcnt) {
        for (String op : lzcnt ? new String[] {"popcnt", "lzcnt"} : new String[] {"popcnt"}) {
            long u = UndefinedFlags.of(op);
            for (int bits : new int[] {16, 32, 64}) {
                for (int i = 0; i < perForm; i++) {
                    Inputs in = new Inputs();
                    Operand d = reg(bits, false), src = reg(bits, false, d.reg), m = mem(bits);
                    long v = i == 0 ? 0 : value(bits);
                    in.set(src, v);
                    in.set(m, v);
                    add(op + " r" + bits + ",r" + bits, op + suffix(bits) + " " + src.text() + ", " + d.text(), in, u);
                    add(op + " r" + bits + ",m" + bits, op + suffix(bits) + " " + m.text() + ", " + d.text(), in, u);
                }
            }
        }
    }

    private void exchanges() {
        for (int bits : SIZES) {
            String s = suffix(bits);
            for (int i = 0; i < perForm; i++) {
                Inputs in = new Inputs();
                boolean legacy = random.nextBoolean();
                Operand a = reg(bits, legacy), b = reg(bits, legacy, a.reg), m = mem(bits);
                in.set(a, value(bits));
                in.set(b, value(bits));
                in.set(m, value(bits));
                add("xchg r" + bits + ",r" + bits, "xchg" + s + " " + a.text() + ", " + b.text(), in, 0);
                add("xchg m" + bits + ",r" + bits, "xchg" + s + " " + a.text() + ", " + m.text(), in, 0);
                add("xadd r" + bits + ",r" + bits, "xadd" + s + " " + a.text() + ", " + b.text(), in, 0);
                add("xadd m" + bits + ",r" + bits, "lock xadd" + s + " " + a.text() + ", " + m.text(), in, 0);
                if (bits > 8) {
                    Operand acc = new Operand(bits, 0, false, 0);
                    add("xchg acc,r" + bits, "xchg" + s + " " + acc.text() + ", " + reg(bits, false, 0).text(), in, 0);
                }
                Operand acc = new Operand(bits, 0, false, 0);
                Operand d = reg(bits, false, 0), src = reg(bits, false, 0, d.reg);
                in = new Inputs();
                in.set(d, value(bits));
                in.set(src, value(bits));
                in.set(m, value(bits));
                in.set(acc, random.nextBoolean() ? in.gprs[d.reg] : value(bits));
                add("cmpxchg r" + bits + ",r" + bits, "cmpxchg" + s + " " + src.text() + ", " + d.text(), in, 0);
                long mv = 0;
                for (int k = bits / 8 - 1; k >= 0; k--) mv = mv << 8 | in.data[m.disp + k] & 0xFF;
                if (random.nextBoolean()) in.set(acc, mv);
                add("cmpxchg m" + bits + ",r" + bits, "lock cmpxchg" + s + " " + src.text() + ", " + m.text(), in, 0);
            }
        }
        for (int i = 0; i < perForm; i++) {
            Inputs in = new Inputs();
            if (random.nextBoolean()) {
                for (int k = 0; k < 8; k++) in.data[0x100 + k] = (byte) (in.gprs[k < 4 ? 0 : 2] >>> (8 * (k & 3)));
            }
            add("cmpxchg8b m64", "lock cmpxchg8b 0x100(%rbx)", in, 0);
            if (random.nextBoolean()) {
                for (int k = 0; k < 16; k++) in.data[0x100 + k] = (byte) (in.gprs[k < 8 ? 0 : 2] >>> (8 * (k & 7)));
            }
            add("cmpxchg16b m128", "lock cmpxchg16b 0x100(%rbx)", in, 0);
            add("cmpxchg16b misaligned (#GP)", "cmpxchg16b 0x108(%rbx)", in, 0);
        }
    }

    private void extensions() {
        String[][] forms = {{"movzbw", "8", "16"}, {"movzbl", "8", "32"}, {"movzbq", "8", "64"},
                            {"movzwl", "16", "32"}, {"movzwq", "16", "64"}, {"movsbw", "8", "16"},
                            {"movsbl", "8", "32"}, {"movsbq", "8", "64"}, {"movswl", "16", "32"},
                            {"movswq", "16", "64"}, {"movslq", "32", "64"}};
        for (String[] f : forms) {
            int from = Integer.parseInt(f[1]), to = Integer.parseInt(f[2]);
            for (int i = 0; i < perForm; i++) {
                Inputs in = new Inputs();
                boolean legacy = from == 8 && to != 64 && random.nextBoolean();
                Operand src = reg(from, legacy), m = mem(from);
                Operand d = legacy ? new Operand(to, random.nextInt(3), false, 0) : reg(to, false);
                in.set(src, value(from));
                in.set(m, value(from));
                add(f[0] + " r" + to + ",r" + from, f[0] + " " + src.text() + ", " + d.text(), in, 0);
                add(f[0] + " r" + to + ",m" + from, f[0] + " " + m.text() + ", " + d.text(), in, 0);
            }
        }
        for (String op : new String[] {"cbtw", "cwtl", "cltq", "cwtd", "cltd", "cqto"}) {
            for (int i = 0; i < perForm; i++) {
                Inputs in = new Inputs();
                in.gprs[0] = value(64);
                add(op, op, in, 0);
            }
        }
    }

    private void conditionals() {
        for (String cc : CONDITIONS) {
            for (int i = 0; i < perForm; i++) {
                Inputs in = new Inputs();
                Operand r = reg(8, random.nextBoolean()), m = mem(8);
                add("set" + cc + " r8", "set" + cc + " " + r.text(), in, 0);
                add("set" + cc + " m8", "set" + cc + " " + m.text(), in, 0);
                int bits = 16 << random.nextInt(3);
                Operand d = reg(bits, false), s = reg(bits, false, d.reg), mm = mem(bits);
                // A 32-bit CMOV writes the zero-extended destination even when the condition is false.
                add("cmov" + cc + " r" + bits + ",r" + bits, "cmov" + cc + suffix(bits) + " " + s.text() + ", " + d.text(), in, 0);
                add("cmov" + cc + " r" + bits + ",m" + bits, "cmov" + cc + suffix(bits) + " " + mm.text() + ", " + d.text(), in, 0);
                add("j" + cc + " rel8", "j" + cc + " 1f; inc %eax; 1: inc %ecx", in, 0);
                add("j" + cc + " rel32", "j" + cc + " 1f; .fill 200, 1, 0x90; inc %eax; 1: inc %ecx", in, 0);
            }
        }
        for (int i = 0; i < perForm; i++) {
            Inputs in = new Inputs();
            in.gprs[1] = random.nextInt(3) == 0 ? 0 : random.nextInt(3) == 0 ? 1L << 32 : random.nextInt(4);
            add("jrcxz", "jrcxz 1f; inc %eax; 1: inc %edx", in, 0);
            add("jecxz", "jecxz 1f; inc %eax; 1: inc %edx", in, 0);
            in.gprs[1] = 1 + random.nextInt(4);
            add("loop", "1: inc %eax; loop 1b", in, 0);
            // LOOPE/LOOPNE end on the count or on EAX reaching 3 (a zero count would otherwise run 2^64 times).
            in.gprs[1] = random.nextInt(5);
            in.gprs[0] = random.nextInt(3);
            add("loope", "1: inc %eax; cmp $3, %eax; loope 1b", in, 0);
            add("loopne", "1: inc %eax; cmp $3, %eax; loopne 1b", in, 0);
        }
    }

    private void lea() {
        String[] modes = {"(%rax)", "0x10(%rax)", "-0x80(%rcx,%rdx)", "0x12345678(%rsi,%rdi,2)", "(,%r9,8)",
                          "0x7fffffff(%r12)", "-1(%r13,%r14,4)", "(%rbp)", "0x40(%rsp,%r15)", "0x1234(%rip)",
                          "(%r8,%rax,1)", "0x5(,%rcx,4)"};
        for (String mode : modes) {
            for (int bits : new int[] {16, 32, 64}) {
                for (int i = 0; i < perForm / 2 + 1; i++) {
                    Inputs in = new Inputs();
                    Operand d = reg(bits, false);
                    add("lea r" + bits + ",m", "lea" + suffix(bits) + " " + mode + ", " + d.text(), in, 0);
                    if (!mode.contains("rip")) {
                        String m32 = mode.replaceAll("%r(\\d+)", "%r$1d").replaceAll("%r([a-z]+)", "%e$1");
                        add("lea r" + bits + ",m (addr32)", "lea" + suffix(bits) + " " + m32 + ", " + d.text(), in, 0);
                    }
                }
            }
        }
    }

    private void strings() {
        String[] ops = {"movs", "stos", "lods", "scas", "cmps"};
        String[] reps = {"", "rep ", "repe ", "repne "};
        for (String op : ops) {
            boolean compares = op.equals("scas") || op.equals("cmps");
            for (int bits : SIZES) {
                for (String rep : reps) {
                    if (!compares && rep.equals("repne ")) continue;
                    if (!compares && rep.equals("repe ")) rep = "rep ";
                    for (int i = 0; i < perForm / 2 + 1; i++) {
                        Inputs in = new Inputs();
                        boolean down = random.nextBoolean();
                        in.flags(down ? DiffLayout.DF : 0, down ? 0 : DiffLayout.DF);
                        in.gprs[6] = DATA + 0x80 + random.nextInt(32);
                        in.gprs[7] = DATA + 0x180 + random.nextInt(32);
                        in.gprs[1] = random.nextInt(5) == 0 ? 0 : random.nextInt(9);
                        if (compares && random.nextBoolean()) {
                            // Equal runs so REPE/REPNE stop at a chosen place.
                            in.gprs[7] = in.gprs[6] + 0x100;
                            System.arraycopy(in.data, 0x20, in.data, 0x120, 0xA0);
                            in.data[(int) (in.gprs[6] - DATA) + random.nextInt(24) - 12] ^= 1;
                            in.gprs[0] = in.data[(int) (in.gprs[7] - DATA)] & 0xFF;
                        }
                        add(rep + op + suffix(bits), rep + op + suffix(bits), in, 0);
                    }
                }
            }
        }
        for (int i = 0; i < perForm; i++) {
            Inputs in = new Inputs();
            in.gprs[0] = random.nextInt(256);
            add("xlat", "xlat", in, 0);
        }
    }

    private void moves() {
        for (int bits : SIZES) {
            String s = suffix(bits);
            for (int i = 0; i < perForm; i++) {
                Inputs in = new Inputs();
                boolean legacy = random.nextBoolean();
                Operand a = reg(bits, legacy), b = reg(bits, legacy, a.reg), m = mem(bits);
                in.set(m, value(bits));
                add("mov r" + bits + ",r" + bits, (random.nextBoolean() ? "{load} " : "{store} ") + "mov" + s + " " + a.text() + ", " + b.text(), in, 0);
                add("mov m" + bits + ",r" + bits, "mov" + s + " " + a.text() + ", " + m.text(), in, 0);
                add("mov r" + bits + ",m" + bits, "mov" + s + " " + m.text() + ", " + a.text(), in, 0);
                add("mov r" + bits + ",imm", "mov" + s + " $" + imm(bits) + ", " + a.text(), in, 0);
                add("mov m" + bits + ",imm", "mov" + s + " $" + imm(bits) + ", " + m.text(), in, 0);
                String acc = new Operand(bits, 0, false, 0).text();
                add("mov acc,moffs" + bits, "movabs 0x" + Long.toHexString(DATA + m.disp) + ", " + acc, in, 0);
                add("mov moffs" + bits + ",acc", "movabs " + acc + ", 0x" + Long.toHexString(DATA + m.disp), in, 0);
            }
        }
        for (int i = 0; i < perForm; i++) {
            Inputs in = new Inputs();
            add("mov r64,imm64", "movabs $0x" + Long.toHexString(value(64)) + ", " + reg(64, false).text(), in, 0);
            add("mov r/m64,imm32 (C7)", "movq $" + (int) value(32) + ", " + reg(64, false).text(), in, 0);
        }
    }

    private void stackAndFlags() {
        for (int i = 0; i < perForm; i++) {
            Inputs in = new Inputs();
            Operand r = reg(64, false), r2 = reg(64, false, r.reg);
            add("push r64/pop r64", "push " + r.text() + "; pop " + r2.text(), in, 0);
            add("push r16/pop r16", "pushw " + new Operand(16, r.reg, false, 0).text() + "; popw " + new Operand(16, r2.reg, false, 0).text(), in, 0);
            add("push imm", "pushq $" + (int) value(32) + "; pushq $" + (byte) value(8) + "; pop %rax; pop %rcx", in, 0);
            add("push m64/pop m64", "pushq 0x40(%rbx); popq 0x80(%rbx)", in, 0);
            add("pop rsp", "push %rax; pop %rsp", in, 0);
            add("push rsp", "push %rsp; pop %rax", in, 0);
            add("pushf", "pushf; pop %rax", in, 0);
            long f = DiffLayout.FIXED_FLAGS | random.nextLong() & DiffLayout.COMPARED_FLAGS;
            in.gprs[0] = f;
            add("popf", "push %rax; popf", in, 0);
            add("lahf", "lahf", in, 0);
            add("sahf", "sahf", in, 0);
            for (String op : new String[] {"cmc", "clc", "stc", "cld", "std"}) add(op, op, in, 0);
            add("call/ret rel32", "call 1f; jmp 2f; 1: mov (%rsp), %rax; ret; 2:", in, 0);
            add("call r64", "lea 1f(%rip), %rcx; call *%rcx; jmp 2f; 1: pop %rdx; push %rdx; ret $0; 2:", in, 0);
            add("ret imm16", "call 1f; jmp 2f; 1: ret $8; 2:", in, 0);
            add("jmp r64", "lea 1f(%rip), %rcx; jmp *%rcx; inc %eax; 1:", in, 0);
            add("jmp m64", "lea 1f(%rip), %rcx; mov %rcx, 0x20(%rbx); jmp *0x20(%rbx); inc %eax; 1:", in, 0);
            add("enter/leave", "enter $0x18, $0; mov %rbp, %rax; leave", in, 0);
            in.gprs[5] = STACK_TOP - 0x40;
            add("enter nested", "enter $0x10, $" + random.nextInt(4) + "; mov %rsp, %rax; leave", in, 0);
            add("leave", "mov %rsp, %rbp; sub $0x40, %rsp; leave", in, 0);
        }
    }

    /** One-byte opcodes that 64-bit mode removed raise #UD (SDM Vol. 2, Appendix A opcode map, i64). */
    private void invalidIn64() {
        int[][] bytes = {{0x06}, {0x07}, {0x0E}, {0x16}, {0x17}, {0x1E}, {0x1F}, {0x27}, {0x2F}, {0x37}, {0x3F},
                         {0x60}, {0x61}, {0x82, 0xC0, 0x01}, {0x9A, 0, 0, 0, 0, 0, 0}, {0xCE}, {0xD4, 0x0A},
                         {0xD5, 0x0A}, {0xEA, 0, 0, 0, 0, 0, 0}, {0x0F, 0x0B}, {0x0F, 0xB9, 0xC0},
                         {0xF0, 0x01, 0xC0}, {0xF0, 0x90}, {0x8D, 0xC0}, {0xC6, 0xC8, 0x00}, {0x0F, 0x04},
                         {0xFE, 0xD0}, {0xD6}, {0xFF, 0xD8}, {0xFF, 0xE8}, {0xFF, 0xF8}};
        for (int[] b : bytes) {
            StringBuilder t = new StringBuilder(".byte ");
            for (int i = 0; i < b.length; i++) t.append(i == 0 ? "" : ", ").append(String.format("0x%02x", b[i]));
            add(String.format("invalid %02x%s", b[0], b.length > 1 ? String.format(" %02x", b[1]) : ""),
                    t.toString(), new Inputs(), 0);
        }
    }

    private void prefixes() {
        String[][] forms = {
            {"rex ignored before 66", ".byte 0x48, 0x66, 0x01, 0xd8"},
            {"66 66 add", ".byte 0x66, 0x66, 0x01, 0xd8"},
            {"66 rex.w add (REX.W wins)", ".byte 0x66, 0x48, 0x01, 0xd8"},
            {"segment overrides ignored", ".byte 0x2e, 0x3e, 0x26, 0x36, 0x03, 0x43, 0x08"},
            {"rex 40 makes sil", ".byte 0x40, 0x00, 0xf0"},
            {"rep on non-string", ".byte 0xf3, 0x01, 0xd8"},
            {"nop 0f1f", "nopl 0x0(%rax,%rax,1); nopw 0x0(%rax,%rax,1); .byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0"},
            {"pause", "pause"},
            {"xchg eax,eax (90) keeps rax", ".byte 0x90"},
            {"xchg r8,rax (49 90)", ".byte 0x49, 0x90"},
            {"xchg eax,eax (87 c0) zero-extends", ".byte 0x87, 0xc0"},
            {"addr32 movs", "addr32 movsb"},
            {"14 prefixes", ".byte 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90"},
            {"15 prefixes (#GP too long)", ".byte 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90"},
            {"mov r/m non-canonical (#GP)", "movabs $0x8000000000000000, %rax; mov (%rax), %rcx"},
            {"movsxd r32,r32 (63 without REX.W)", ".byte 0x63, 0xc1"},
            {"movsxd r16,r16 (66 63)", ".byte 0x66, 0x63, 0xc1"},
            {"int3 (trap, RIP after)", "int3"},
            {"mov unmapped (#PF)", "movabs $0x123400000000, %rax; mov (%rax), %rcx"},
        };
        for (String[] f : forms) {
            for (int i = 0; i < 2; i++) {
                Inputs in = new Inputs();
                in.gprs[6] = DATA + 0x40;
                in.gprs[7] = DATA + 0x140;
                in.gprs[1] = random.nextInt(4);
                add(f[0], f[1], in, 0);
            }
        }
    }
}
