package dev.apiary.vmm.x86;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * What a case left behind, in either world: the registers, flags, data buffer and top of the stack after a
 * clean run, or the exception vector with the faulting RIP and the registers at the fault.
 */
record DiffOutcome(int vector, long faultRip, long rflags, long[] gprs, byte[] data, byte[] stack) {
    static final int NONE = -1;

    boolean faulted() {
        return vector != NONE;
    }

    static DiffOutcome completed(long rflags, long[] gprs, byte[] data, byte[] stack) {
        return new DiffOutcome(NONE, 0, rflags, gprs, data, stack);
    }

    static DiffOutcome fault(int vector, long rip, long rflags, long[] gprs) {
        return new DiffOutcome(vector, rip, rflags, gprs, new byte[0], new byte[0]);
    }

    /** Parses a line of the native harness (see x86diff.c). */
    static DiffOutcome parseNative(String line) {
        String[] f = line.trim().split(" ");
        HexFormat hex = HexFormat.of();
        if (f[0].equals("R")) {
            long[] g = new long[16];
            for (int i = 0; i < 16; i++) g[i] = Long.parseUnsignedLong(f[2 + i], 16);
            return completed(Long.parseUnsignedLong(f[1], 16), g, hex.parseHex(f[18]), hex.parseHex(f[19]));
        }
        if (f[0].equals("E")) {
            long[] g = new long[16];
            for (int i = 0; i < 16; i++) g[i] = Long.parseUnsignedLong(f[4 + i], 16);
            return fault(Integer.parseInt(f[1]), Long.parseUnsignedLong(f[2], 16), Long.parseUnsignedLong(f[3], 16), g);
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
        return d.toString().trim();
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
