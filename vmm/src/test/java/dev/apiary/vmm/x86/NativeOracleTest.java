package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The oracle itself: the harness reports known results and vectors, and every generated case runs to a
 * completion or an exception natively (a generator bug shows here, not as an emulator failure).
 */
class NativeOracleTest {
    @Test
    void harnessReportsResultsAndVectors() throws Exception {
        assumeTrue(NativeOracle.hostSupported(), "the oracle needs x86-64 Linux");
        List<String> src = List.of("add %rcx, %rax", "div %rcx", "ud2", "movabs $0x8000000000000000, %rax; mov (%rax), %rax",
                "mov 0x123400000000, %rax", "movq $7, 0x10(%rbx); push %rax");
        List<GnuAssembler.Assembled> asm = GnuAssembler.assemble(NativeOracle.WORK, src);
        List<DiffCase> cases = new ArrayList<>();
        List<byte[]> code = new ArrayList<>();
        for (GnuAssembler.Assembled a : asm) {
            long[] g = new long[16];
            g[0] = 5;
            g[1] = 0; // RCX 0: the DIV divides by zero
            g[3] = DiffLayout.DATA;
            g[4] = DiffLayout.STACK_TOP;
            cases.add(new DiffCase("t", a.source(), g, 0x202 | DiffLayout.CF, new byte[DiffLayout.DATA_SIZE], 0, 0));
            code.add(a.bytes());
        }
        List<DiffOutcome> out = NativeOracle.build().run(cases, code);
        assertEquals(5, out.get(0).gprs()[0]);
        assertEquals(0, out.get(0).rflags() & DiffLayout.CF);
        assertEquals(0, out.get(1).vector());
        assertEquals(DiffLayout.CODE, out.get(1).faultRip());
        assertEquals(6, out.get(2).vector());
        assertEquals(13, out.get(3).vector());
        assertEquals(DiffLayout.CODE + 10, out.get(3).faultRip());
        assertEquals(14, out.get(4).vector());
        assertFalse(out.get(5).faulted());
        assertEquals(7, out.get(5).data()[0x10]);
        assertEquals(5, out.get(5).stack()[DiffLayout.STACK_SHOWN - 8]);
        assertEquals(DiffLayout.STACK_TOP - 8, out.get(5).gprs()[4]);
    }

    @Test
    void everyGeneratedCaseEndsNatively() throws Exception {
        assumeTrue(NativeOracle.hostSupported(), "the oracle needs x86-64 Linux");
        List<DiffCase> cases = DiffCases.all(1, 6);
        List<GnuAssembler.Assembled> asm = GnuAssembler.assemble(NativeOracle.WORK, cases.stream().map(DiffCase::asm).toList());
        List<DiffOutcome> out = NativeOracle.build().run(cases, asm.stream().map(GnuAssembler.Assembled::bytes).toList());
        Map<String, Integer> vectors = new TreeMap<>();
        for (int i = 0; i < cases.size(); i++) {
            assertTrue(asm.get(i).bytes().length > 0, cases.get(i).asm());
            assertTrue(out.get(i).vector() != 256, "hangs natively: " + cases.get(i).asm());
            if (out.get(i).faulted()) vectors.merge(cases.get(i).kind() + " #" + out.get(i).vector(), 1, Integer::sum);
        }
        System.out.println(cases.size() + " cases; faulting kinds: " + vectors);
    }
}
