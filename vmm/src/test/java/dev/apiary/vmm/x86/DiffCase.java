package dev.apiary.vmm.x86;

import java.util.BitSet;

/**
 * One differential test case: an instruction sequence (AT&T source, assembled by {@link GnuAssembler}),
 * the registers, flags and data buffer it starts from, and what the SDM leaves undefined for these inputs
 * (flags, and destination registers such as BSF's with a zero source), which the comparison ignores.
 *
 * @param kind the mnemonic and operand form the case belongs to ("adc r/m8,imm8"); failures are reported
 *     once per kind
 * @param gprs RAX..R15 as {@link CpuState#gpr} numbers them; RSP is always {@link DiffLayout#STACK_TOP}
 * @param fpu the FXSAVE image (x87, MXCSR, XMM) the case starts from
 * @param undefinedFpu bytes of the resulting FXSAVE image the SDM leaves undefined for this case
 */
record DiffCase(String kind, String asm, long[] gprs, long rflags, byte[] data, long undefinedFlags,
                int undefinedGprs, byte[] fpu, BitSet undefinedFpu) {
    DiffCase(String kind, String asm, long[] gprs, long rflags, byte[] data, long undefinedFlags, int undefinedGprs) {
        this(kind, asm, gprs, rflags, data, undefinedFlags, undefinedGprs, DiffLayout.initialFpu(), new BitSet());
    }
}
