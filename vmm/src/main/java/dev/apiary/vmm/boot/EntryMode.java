package dev.apiary.vmm.boot;

/** How the vCPU enters the kernel. */
public enum EntryMode {
    /**
     * The 64-bit boot protocol: long mode, paging on with an identity map of the first 4 GiB, at
     * load address + 0x200 ({@code startup_64}). Needs {@code XLF_KERNEL_64}.
     */
    LONG_64,
    /** The 32-bit boot protocol: flat protected mode, paging off, at {@code code32_start} ({@code startup_32}). */
    PROTECTED_32
}
