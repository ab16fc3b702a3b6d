package dev.apiary.vmm.x86;

import java.util.regex.Pattern;

/**
 * The linear addresses both worlds share (the native harness maps them at the same places; the emulator's
 * test memory identity-maps them), so RIP-relative operands, pushes and string instructions agree.
 */
final class DiffLayout {
    static final long CODE = 0x10_0000;
    static final long DATA = 0x20_0000;
    static final int DATA_SIZE = 512;
    static final long STACK = 0x30_0000;
    static final long STACK_TOP = 0x30_8000;
    static final int STACK_SHOWN = 128;

    static final long CF = 1, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, DF = 1 << 10, OF = 1 << 11;
    /** The status flags and DF: what the comparison looks at in RFLAGS. */
    static final long COMPARED_FLAGS = CF | PF | AF | ZF | SF | DF | OF;
    /** RFLAGS bit 1 is always set; IF is set natively in user mode, so the emulator runs with it too. */
    static final long FIXED_FLAGS = 0x202;

    static final String[] GPR_NAMES = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                       "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};

    private static final Pattern[] MENTIONS = new Pattern[16];

    static {
        String[] legacy = {"ax|eax|al|ah", "cx|ecx|cl|ch", "dx|edx|dl|dh", "bx|ebx|bl|bh", "sp|esp|spl",
                           "bp|ebp|bpl", "si|esi|sil", "di|edi|dil"};
        for (int r = 0; r < 16; r++) {
            String names = r < 8 ? GPR_NAMES[r] + "|" + legacy[r] : GPR_NAMES[r] + "[dwb]?";
            MENTIONS[r] = Pattern.compile("%(" + names + ")\\b");
        }
    }

    private DiffLayout() {}

    /** The FXSAVE image after FNINIT with MXCSR 0x1F80 and zero XMM registers: what integer cases start from. */
    static byte[] initialFpu() {
        byte[] img = new byte[512];
        img[0] = 0x7F;
        img[1] = 0x03;
        img[24] = (byte) 0x80;
        img[25] = 0x1F;
        return img;
    }

    /**
     * The bytes of an FXSAVE image the comparison looks at: FCW, FSW, the abridged tags, MXCSR, the eight
     * data registers and XMM0-15. FOP, FIP and FDP are left out (AMD saves them only with an exception
     * pending, Intel with FOP compatibility off leaves FOP zero) and so is MXCSR_MASK (a CPU's own).
     */
    static boolean comparedFpuByte(int i) {
        return i < 6 || i >= 24 && i < 28 || i >= 32 && i < 416;
    }

    /** Whether AT&T source names register {@code r} in any size. */
    static boolean mentions(String asm, int r) {
        return MENTIONS[r].matcher(asm).find();
    }

    static String flagNames(long flags) {
        StringBuilder b = new StringBuilder();
        String[] names = {"CF", "", "PF", "", "AF", "", "ZF", "SF", "", "", "DF", "OF"};
        for (int i = 0; i < names.length; i++) {
            if (!names[i].isEmpty() && (flags >>> i & 1) != 0) b.append(b.length() == 0 ? "" : " ").append(names[i]);
        }
        return b.length() == 0 ? "-" : b.toString();
    }
}
