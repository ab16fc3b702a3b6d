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
        assumeTrue(NativeOracle.hostSupported(), "the oracle needs x86-64 Linux");
        NativeOracle oracle = NativeOracle.build();
        List<DiffCase> cases = DiffCases.all(SEED, PER_FORM, oracle.hasLzcnt());
        check(oracle, cases, KNOWN_FAILURES, "failures.txt");
    }

    /** The same cases with every block translated to JVM bytecode when first reached (Translator). */
    @Test
    void everyGeneratedCaseMatchesTheRealCpuThroughTheTranslator() throws Exception {
        assumeTrue(NativeOracle.hostSupported(), "the oracle needs x86-64 Linux");
        NativeOracle oracle = NativeOracle.build();
        List<DiffCase> cases = DiffCases.all(SEED, PER_FORM, oracle.hasLzcnt());
        check(oracle, cases, KNOWN_FAILURES, "failures-translated.txt", 1);
    }

    /**
     * Runs {@code cases} on both CPUs and fails on any kind that disagrees and is not {@code known}, or on a
     * known one that now passes; the whole report goes to {@code target/x86diff/<reportFile>}.
     */
    static void check(NativeOracle oracle, List<DiffCase> cases, Set<String> known, String reportFile) throws Exception {
        check(oracle, cases, known, reportFile, -1);
    }

    /** {@link #check} on a CPU with the translator's threshold (-1: the default, 0: off, 1: translate all). */
    static void check(NativeOracle oracle, List<DiffCase> cases, Set<String> known, String reportFile,
            int translateThreshold) throws Exception {
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
                .append(known.contains(kind) ? ", known" : "").append("): ").append(text).append('\n'));
        Files.writeString(NativeOracle.WORK.resolve(reportFile), report);
        long unexpected = firstByKind.keySet().stream().filter(k -> !known.contains(k)).count();
        List<String> fixed = known.stream().filter(k -> !firstByKind.containsKey(k)).sorted().toList();
        System.out.printf("x86diff (" + reportFile + "): %d cases, %d kinds, %d failing kinds (%d not known)%n", cases.size(),
                cases.stream().map(DiffCase::kind).distinct().count(), firstByKind.size(), unexpected);
        if (unexpected > 0) {
            String shown = report.toString().lines().limit(SHOWN * 3L)
                    .reduce("", (a, b) -> a + b + "\n");
            fail(unexpected + " instruction kinds disagree with the real CPU (all in target/x86diff/" + reportFile + "):\n" + shown);
        }
        if (!fixed.isEmpty()) fail("known failures now pass, remove them from the known list: " + fixed);
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
        byte[] fx = c.fpu();
        if (c.asm().matches("(?s).*(%xmm|mxcsr|fx).*")) {
            b.append(String.format(" mxcsr=%x", FpuState.getInt(fx, 24)));
            for (int x = 0; x < 16; x++) {
                if (c.asm().matches("(?s).*%xmm" + x + "\\b.*")) {
                    b.append(String.format(" xmm%d=%016x%016x", x, FpuState.getLong(fx, 168 + 16 * x), FpuState.getLong(fx, 160 + 16 * x)));
                }
            }
        }
        if (c.asm().matches("(?s)^f.*")) {
            int top = FpuState.getShort(fx, 2) >> 11 & 7;
            b.append(String.format(" fcw=%x fsw=%x tags=%02x", FpuState.getShort(fx, 0), FpuState.getShort(fx, 2), fx[4] & 0xFF));
            for (int i = 0; i < 3; i++) {
                boolean valid = (fx[4] >> ((top + i) & 7) & 1) != 0;
                b.append(String.format(" st%d=%s%04x:%016x", i, valid ? "" : "empty ", FpuState.getShort(fx, 40 + 16 * i),
                        FpuState.getLong(fx, 32 + 16 * i)));
            }
        }
        return b.toString();
    }
}
