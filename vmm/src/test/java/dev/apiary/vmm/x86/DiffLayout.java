package dev.apiary.vmm.x86;

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

    private DiffLayout() {}

    static String flagNames(long flags) {
        StringBuilder b = new StringBuilder();
        String[] names = {"CF", "", "PF", "", "AF", "", "ZF", "SF", "", "", "DF", "OF"};
        for (int i = 0; i < names.length; i++) {
            if (!names[i].isEmpty() && (flags >>> i & 1) != 0) b.append(b.length() == 0 ? "" : " ").append(names[i]);
        }
        return b.length() == 0 ? "-" : b.toString();
    }
}
