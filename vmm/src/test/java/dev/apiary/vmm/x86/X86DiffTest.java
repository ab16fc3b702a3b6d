package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Differential tests of the software CPU against the real one: thousands of generated cases
 * ({@link DiffCases}) run natively through the gcc-built harness ({@link NativeOracle}) and on the emulator
 * ({@link DiffMachine}); every result register, the data buffer, the top of the stack, the exception vector
 * and every defined flag must match (flags the SDM leaves undefined are masked, {@link UndefinedFlags}).
 *
 * <p>Failures are grouped by kind (mnemonic and operand form); the first of each kind is printed and all of
 * them are written to {@code target/x86diff/failures.txt}.
 */
class X86DiffTest {
    private static final long SEED = 0x5EED_86L;
    private static final int PER_FORM = 6;
    private static final int SHOWN = 40;
    /**
     * Kinds that fail and are reported (findings/x86.md, "From x86diff"); remove an entry when its fix lands
     * (the test fails while a known failure passes, so the list cannot go stale).
     */
    private static final Set<String> KNOWN_FAILURES = Set.of();

    @Test
    void everyGeneratedCaseMatchesTheRealCpu() throws Exception {
        check(0, "failures.txt");
    }

    /** The same cases with every block translated to JVM bytecode when first reached (Translator). */
    @Test
    void everyGeneratedCaseMatchesTheRealCpuThroughTheTranslator() throws Exception {
        check(1, "failures-translated.txt");
    }

    private static void check(int translateThreshold, String failuresFile) throws Exception {
        assumeTrue(NativeOracle.hostSupported(), "the oracle needs x86-64 Linux");
        NativeOracle oracle = NativeOracle.build();
        List<DiffCase> cases = DiffCases.all(SEED, PER_FORM, oracle.hasLzcnt());
        List<GnuAssembler.Assembled> asm = GnuAssembler.assemble(NativeOracle.WORK, cases.stream().map(DiffCase::asm).toList());
        List<byte[]> code = asm.stream().map(GnuAssembler.Assembled::bytes).toList();
        List<DiffOutcome> expected = oracle.run(cases, code);

        DiffMachine machine = new DiffMachine(translateThreshold);
        Map<String, String> firstByKind = new LinkedHashMap<>();
        Map<String, Integer> countByKind = new LinkedHashMap<>();
        HexFormat hex = HexFormat.of();
        for (int i = 0; i < cases.size(); i++) {
            DiffCase c = cases.get(i);
            String d;
            try {
                d = expected.get(i).diff(machine.run(c, code.get(i)), c);
            } catch (RuntimeException | Error e) {
                d = "emulator threw " + e + "\n" + machine.cpu().recentInstructions();
                machine = new DiffMachine(translateThreshold);
            }
            if (!machine.strayAccesses().isEmpty()) {
                d += " accesses outside RAM: " + machine.strayAccesses();
                machine = new DiffMachine(translateThreshold);
            }
            if (d.isEmpty()) continue;
            countByKind.merge(c.kind(), 1, Integer::sum);
            firstByKind.putIfAbsent(c.kind(), describe(c, code.get(i), hex) + "\n    " + d);
        }

        StringBuilder report = new StringBuilder();
        firstByKind.forEach((kind, text) -> report.append(kind).append(" (").append(countByKind.get(kind))
                .append(" cases")
                .append(KNOWN_FAILURES.contains(kind) ? ", known" : "").append("): ").append(text).append('\n'));
        Files.writeString(NativeOracle.WORK.resolve(failuresFile), report);
        long unexpected = firstByKind.keySet().stream().filter(k -> !KNOWN_FAILURES.contains(k)).count();
        List<String> fixed = KNOWN_FAILURES.stream().filter(k -> !firstByKind.containsKey(k)).sorted().toList();
        System.out.printf("x86diff (translate threshold " + translateThreshold + "): %d cases, %d kinds, %d failing kinds (%d not known)%n", cases.size(),
                cases.stream().map(DiffCase::kind).distinct().count(), firstByKind.size(), unexpected);
        if (unexpected > 0) {
            String shown = report.toString().lines().limit(SHOWN * 3L)
                    .reduce("", (a, b) -> a + b + "\n");
            fail(unexpected + " instruction kinds disagree with the real CPU (all in target/x86diff/" + failuresFile + "):\n" + shown);
        }
        if (!fixed.isEmpty()) fail("known failures now pass, remove them from KNOWN_FAILURES: " + fixed);
    }

    static String describe(DiffCase c, byte[] code, HexFormat hex) {
        StringBuilder b = new StringBuilder();
        b.append(c.asm()).append("  [").append(hex.formatHex(code)).append("]\n    in: flags ")
                .append(DiffLayout.flagNames(c.rflags() & DiffLayout.COMPARED_FLAGS));
        for (int r = 0; r < 16; r++) {
            if (r == 3 || r == 4) continue;
            if (r < 3 || r == 6 || r == 7 || DiffLayout.mentions(c.asm(), r)) {
                b.append(' ').append(DiffLayout.GPR_NAMES[r]).append('=').append(Long.toHexString(c.gprs()[r]));
            }
        }
        if (c.undefinedFlags() != 0) b.append(" (undefined: ").append(DiffLayout.flagNames(c.undefinedFlags())).append(')');
        return b.toString();
    }
}
