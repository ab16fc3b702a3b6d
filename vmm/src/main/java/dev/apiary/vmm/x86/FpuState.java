package dev.apiary.vmm.x86;

/**
 * The x87 FPU and SSE register state of one vCPU (SDM Vol. 1 8.1, 10.2): eight 80-bit data registers kept
 * by physical number (sign/exponent word and 64-bit significand, exact), TOP, the control, status and tag
 * words, the last-instruction pointers, XMM0-15 and MXCSR. {@link #fxsave}/{@link #fxrstor} move it to and
 * from the 512-byte FXSAVE image (SDM Vol. 1 10.5.1, Table 10-2).
 */
public final class FpuState {
    /** MXCSR bits this CPU implements (flags, DAZ, masks, RC, FTZ): MXCSR_MASK in the FXSAVE image. */
    static final int MXCSR_MASK = 0xFFFF;

    /** XMM register n is xmm[2n] (bits 63:0) and xmm[2n+1] (bits 127:64). */
    final long[] xmm = new long[32];
    int mxcsr = 0x1F80;

    /** Physical data registers R0-R7: significand and sign/exponent word. */
    final long[] mant = new long[8];
    final int[] se = new int[8];
    int top;
    int fcw = 0x37F;
    /** The status word without TOP (bits 13:11 are filled in when it is read). */
    int fsw;
    /** Bit i set: physical register i is not empty. */
    int valid;
    long fip;
    long fdp;
    int fop;

    /** FNINIT (SDM Vol. 1 8.1.9, Table 8-7); XMM and MXCSR are not touched. */
    void finit() {
        fcw = 0x37F;
        fsw = 0;
        top = 0;
        valid = 0;
        fip = 0;
        fdp = 0;
        fop = 0;
    }

    /** Power-on/RESET: the x87 as after FNINIT except FCW 0x40 (SDM Vol. 3A Table 9-1), XMM zero, MXCSR 0x1F80. */
    void reset() {
        finit();
        fcw = 0x40;
        for (int i = 0; i < 8; i++) {
            mant[i] = 0;
            se[i] = 0;
        }
        java.util.Arrays.fill(xmm, 0);
        mxcsr = 0x1F80;
    }

    int statusWord() {
        return (fsw & ~0x3800) | (top << 11);
    }

    /** The two-bit tag of physical register i (SDM Vol. 1 8.1.7): 0 valid, 1 zero, 2 special, 3 empty. */
    int tag(int i) {
        if ((valid >> i & 1) == 0) {
            return 3;
        }
        int exp = se[i] & 0x7FFF;
        long m = mant[i];
        if (exp == 0x7FFF || exp == 0 && m != 0 || exp != 0 && m >= 0) {
            return 2;
        }
        return exp == 0 ? 1 : 0;
    }

    int fullTagWord() {
        int t = 0;
        for (int i = 0; i < 8; i++) {
            t |= tag(i) << (2 * i);
        }
        return t;
    }

    /** The FXSAVE image in its 64-bit layout (REX.W) or the 32-bit one (FIP/FDP as offset + selector). */
    void fxsave(byte[] b, boolean rexW) {
        putShort(b, 0, fcw);
        putShort(b, 2, statusWord());
        b[4] = (byte) valid;
        b[5] = 0;
        putShort(b, 6, fop);
        if (rexW) {
            putLong(b, 8, fip);
            putLong(b, 16, fdp);
        } else {
            putLong(b, 8, fip & 0xFFFF_FFFFL);
            putLong(b, 16, fdp & 0xFFFF_FFFFL);
        }
        putInt(b, 24, mxcsr);
        putInt(b, 28, MXCSR_MASK);
        for (int i = 0; i < 8; i++) {
            int p = (top + i) & 7;
            int o = 32 + 16 * i;
            putLong(b, o, mant[p]);
            putShort(b, o + 8, se[p]);
            for (int k = 10; k < 16; k++) {
                b[o + k] = 0;
            }
        }
        for (int i = 0; i < 32; i++) {
            putLong(b, 160 + 8 * i, xmm[i]);
        }
    }

    /** Loads an FXSAVE image; false when MXCSR has reserved bits set (the instruction's #GP). */
    boolean fxrstor(byte[] b, boolean rexW) {
        int mx = getInt(b, 24);
        if ((mx & ~MXCSR_MASK) != 0) {
            return false;
        }
        fcw = getShort(b, 0);
        int sw = getShort(b, 2);
        top = (sw >> 11) & 7;
        fsw = sw & ~0x3800;
        valid = b[4] & 0xFF;
        fop = getShort(b, 6) & 0x7FF;
        fip = rexW ? getLong(b, 8) : getLong(b, 8) & 0xFFFF_FFFFL;
        fdp = rexW ? getLong(b, 16) : getLong(b, 16) & 0xFFFF_FFFFL;
        mxcsr = mx;
        for (int i = 0; i < 8; i++) {
            int p = (top + i) & 7;
            int o = 32 + 16 * i;
            mant[p] = getLong(b, o);
            se[p] = getShort(b, o + 8);
        }
        for (int i = 0; i < 32; i++) {
            xmm[i] = getLong(b, 160 + 8 * i);
        }
        return true;
    }

    static void putShort(byte[] b, int o, int v) {
        b[o] = (byte) v;
        b[o + 1] = (byte) (v >> 8);
    }

    static void putInt(byte[] b, int o, int v) {
        putShort(b, o, v);
        putShort(b, o + 2, v >> 16);
    }

    static void putLong(byte[] b, int o, long v) {
        putInt(b, o, (int) v);
        putInt(b, o + 4, (int) (v >>> 32));
    }

    static int getShort(byte[] b, int o) {
        return (b[o] & 0xFF) | (b[o + 1] & 0xFF) << 8;
    }

    static int getInt(byte[] b, int o) {
        return getShort(b, o) | getShort(b, o + 2) << 16;
    }

    static long getLong(byte[] b, int o) {
        return (getInt(b, o) & 0xFFFF_FFFFL) | (long) getInt(b, o + 4) << 32;
    }
}
