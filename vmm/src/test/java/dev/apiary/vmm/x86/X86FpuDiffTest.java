package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Differential tests of the x87 and SSE/SSE2 against the real CPU ({@link FpuDiffCases}): registers, flags,
 * memory and the FXSAVE image (FCW, FSW, tags, MXCSR, ST0-7, XMM0-15) must match after every case.
 * Failures are written to {@code target/x86diff/fpu-failures.txt}.
 */
class X86FpuDiffTest {
    private static final long SEED = Long.getLong("fpuSeed", 0xF10A7L);
    private static final int PER_FORM = Integer.getInteger("fpuPerForm", 4);
    /** Kinds that disagree and are documented (docs/software-cpu.md); remove an entry when its fix lands. */
    private static final Set<String> KNOWN_FAILURES = Set.of();

    @Test
    void everyFloatingPointCaseMatchesTheRealCpu() throws Exception {
        assumeTrue(NativeOracle.hostSupported(), "the oracle needs x86-64 Linux");
        NativeOracle oracle = NativeOracle.build();
        X86DiffTest.check(oracle, FpuDiffCases.all(SEED, PER_FORM), KNOWN_FAILURES, "fpu-failures.txt");
    }

    /** The same cases with every block translated to JVM bytecode when first reached (Translator). */
    @Test
    void everyFloatingPointCaseMatchesTheRealCpuThroughTheTranslator() throws Exception {
        assumeTrue(NativeOracle.hostSupported(), "the oracle needs x86-64 Linux");
        NativeOracle oracle = NativeOracle.build();
        X86DiffTest.check(oracle, FpuDiffCases.all(SEED, PER_FORM), KNOWN_FAILURES, "fpu-failures-translated.txt", 1);
    }
}
