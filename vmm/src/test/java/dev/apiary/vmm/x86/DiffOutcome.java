package dev.apiary.vmm.x86;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * What a case left behind, in either world: the registers, flags, data buffer and top of the stack after a
 * clean run, or the exception vector with the faulting RIP and the registers at the fault.
 */
record DiffOutcome(int vector, long faultRip, long rflags, long[] gprs, byte[] data, byte[] stack, byte[] fpu) {
    static final int NONE = -1;

    boolean faulted() {
        return vector != NONE;
    }

    static DiffOutcome completed(long rflags, long[] gprs, byte[] data, byte[] stack, byte[] fpu) {
        return new DiffOutcome(NONE, 0, rflags, gprs, data, stack, fpu);
    }

    static DiffOutcome fault(int vector, long rip, long rflags, long[] gprs, byte[] fpu) {
        return new DiffOutcome(vector, rip, rflags, gprs, new byte[0], new byte[0], fpu);
    }

    /** Parses a line of the native harness (see x86diff.c). */
    static DiffOutcome parseNative(String line) {
        String[] f = line.trim().split(" ");
        HexFormat hex = HexFormat.of();
        if (f[0].equals("R")) {
            long[] g = new long[16];
            for (int i = 0; i < 16; i++) g[i] = Long.parseUnsignedLong(f[2 + i], 16);
            return completed(Long.parseUnsignedLong(f[1], 16), g, hex.parseHex(f[18]), hex.parseHex(f[19]),
                    hex.parseHex(f[20]));
        }
        if (f[0].equals("E")) {
            long[] g = new long[16];
            for (int i = 0; i < 16; i++) g[i] = Long.parseUnsignedLong(f[4 + i], 16);
            return fault(Integer.parseInt(f[1]), Long.parseUnsignedLong(f[2], 16), Long.parseUnsignedLong(f[3], 16), g,
                    hex.parseHex(f[20]));
        }
        throw new IllegalArgumentException("not a harness line: " + line);
    }

    /**
     * Differences between the oracle (this) and the emulator, ignoring what the case leaves undefined;
     * empty when they agree.
     */
    String diff(DiffOutcome emulated, DiffCase c) {
        StringBuilder d = new StringBuilder();
        if (vector != emulated.vector) {
            return "outcome: native " + describeOutcome() + ", emulated " + emulated.describeOutcome();
        }
        if (faulted() && faultRip != emulated.faultRip) {
            d.append(String.format(" fault rip native %x emulated %x;", faultRip, emulated.faultRip));
        }
        long mask = DiffLayout.COMPARED_FLAGS & ~c.undefinedFlags();
        long fd = (rflags ^ emulated.rflags) & mask;
        if (fd != 0) {
            d.append(String.format(" flags native %s emulated %s (differ: %s);",
                    DiffLayout.flagNames(rflags & mask), DiffLayout.flagNames(emulated.rflags & mask),
                    DiffLayout.flagNames(fd)));
        }
        for (int i = 0; i < 16; i++) {
            if ((c.undefinedGprs() >>> i & 1) == 0 && gprs[i] != emulated.gprs[i]) {
                d.append(String.format(" %s native %x emulated %x;", DiffLayout.GPR_NAMES[i], gprs[i], emulated.gprs[i]));
            }
        }
        if (!faulted()) {
            diffBytes(d, "data", DiffLayout.DATA, data, emulated.data);
            diffBytes(d, "stack", DiffLayout.STACK_TOP - DiffLayout.STACK_SHOWN, stack, emulated.stack);
        }
        diffFpu(d, fpu, emulated.fpu, c.undefinedFpu());
        return d.toString().trim();
    }

    private static final String[] FPU_FIELDS = {"fcw", "fsw", "ftw"};

    /** Compares the FXSAVE images field by field (DiffLayout.comparedFpuByte), bytes in {@code undefined} excepted. */
    private static void diffFpu(StringBuilder d, byte[] a, byte[] b, java.util.BitSet undefined) {
        if (a.length < 512 || b.length < 512) {
            if (a.length != b.length) d.append(" fxsave image missing;");
            return;
        }
        HexFormat hex = HexFormat.of();
        for (int k = 0; k < FPU_OFFSETS.length; k++) {
            int field = FPU_OFFSETS[k];
            int len = FPU_LENGTHS[k];
            boolean differs = false;
            for (int i = field; i < field + len; i++) {
                differs |= DiffLayout.comparedFpuByte(i) && !undefined.get(i) && a[i] != b[i];
            }
            if (differs) {
                d.append(String.format(" %s native %s emulated %s;", fpuFieldName(field), reversed(hex, a, field, len),
                        reversed(hex, b, field, len)));
            }
        }
    }

    private static final int[] FPU_OFFSETS = new int[5 + 8 + 16];
    private static final int[] FPU_LENGTHS = new int[5 + 8 + 16];

    static {
        int[] head = {0, 2, 2, 2, 4, 2, 24, 4, 28, 4};
        for (int i = 0; i < 5; i++) {
            FPU_OFFSETS[i] = head[2 * i];
            FPU_LENGTHS[i] = head[2 * i + 1];
        }
        for (int i = 0; i < 8; i++) {
            FPU_OFFSETS[5 + i] = 32 + 16 * i;
            FPU_LENGTHS[5 + i] = 10;
        }
        for (int i = 0; i < 16; i++) {
            FPU_OFFSETS[13 + i] = 160 + 16 * i;
            FPU_LENGTHS[13 + i] = 16;
        }
    }

    private static String fpuFieldName(int off) {
        return off < 6 ? FPU_FIELDS[off / 2] : off == 24 ? "mxcsr" : off == 28 ? "mxcsr_mask"
                : off < 160 ? "st(phys " + (off - 32) / 16 + " from top)" : "xmm" + (off - 160) / 16;
    }

    /** Little-endian bytes as one hex number. */
    private static String reversed(HexFormat hex, byte[] a, int from, int len) {
        byte[] r = new byte[len];
        for (int i = 0; i < len; i++) r[i] = a[from + len - 1 - i];
        return hex.formatHex(r);
    }



    private static void diffBytes(StringBuilder d, String what, long base, byte[] a, byte[] b) {
        int first = Arrays.mismatch(a, b);
        if (first < 0) return;
        int end = Math.min(Math.min(a.length, b.length), first + 16);
        HexFormat hex = HexFormat.of();
        d.append(String.format(" %s at %x native %s emulated %s;", what, base + first,
                hex.formatHex(a, first, end), hex.formatHex(b, first, Math.min(b.length, end))));
    }

    String describeOutcome() {
        return faulted() ? "exception " + vector + String.format(" at %x", faultRip) : "completion";
    }
}
