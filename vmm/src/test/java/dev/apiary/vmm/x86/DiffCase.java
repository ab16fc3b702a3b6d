package dev.apiary.vmm.x86;

/**
 * One differential test case: an instruction sequence (AT&T source, assembled by {@link GnuAssembler}),
 * the registers, flags and data buffer it starts from, and what the SDM leaves undefined for these inputs
 * (flags, and destination registers such as BSF's with a zero source), which the comparison ignores.
 *
 * @param kind the mnemonic and operand form the case belongs to ("adc r/m8,imm8"); failures are reported
 *     once per kind
 * @param gprs RAX..R15 as {@link CpuState#gpr} numbers them; RSP is always {@link DiffLayout#STACK_TOP}
 */
record DiffCase(String kind, String asm, long[] gprs, long rflags, byte[] data, long undefinedFlags,
                int undefinedGprs) {}
