package dev.apiary.kubectlvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.crds.Accelerator;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VmPhase;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class KubectlVmTest {
    static byte[] b(String s) {
        return s.getBytes();
    }

    @Test
    void ctrlRightBracketLeaves() {
        EscapeDecoder d = new EscapeDecoder();
        assertArrayEquals(b("ls"), d.feed(b("ls\u001dmore"), 7));
        assertTrue(d.quit());
    }

    @Test
    void ctrlAxLeavesAndCtrlACtrlASendsOne() {
        EscapeDecoder d = new EscapeDecoder();
        assertArrayEquals(new byte[] {1}, d.feed(new byte[] {1, 1}, 2));
        assertFalse(d.quit());
        assertArrayEquals(new byte[] {1, 'c'}, d.feed(new byte[] {1, 'c'}, 2));
        // Split across reads.
        assertArrayEquals(new byte[0], d.feed(new byte[] {1}, 1));
        assertArrayEquals(new byte[0], d.feed(b("x"), 1));
        assertTrue(d.quit());
    }

    @Test
    void agentErrorBodiesBecomeOneLine() {
        assertEquals("this VM has no display", AgentConnection.errorOf("{\"error\":\"this VM has no display\"}"));
        assertEquals("plain", AgentConnection.errorOf(" plain\n"));
    }

    @Test
    void listShowsPhaseNodeAcceleratorPidAndBoot() {
        VirtualMachine vm = new VirtualMachine();
        vm.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace("default")
                .withCreationTimestamp("2026-01-01T00:00:00Z").build());
        vm.setStatus(new VirtualMachineStatus());
        vm.getStatus().phase = VmPhase.Running;
        vm.getStatus().nodeName = "node-a";
        vm.getStatus().vmm = new VirtualMachineStatus.VmmProcess();
        vm.getStatus().vmm.pid = 4242L;
        vm.getStatus().vmm.bootMillis = 321L;
        vm.getStatus().accelerator = Accelerator.Emulated;
        String t = KubectlVm.table(List.of(vm), false, Instant.parse("2026-01-01T00:05:00Z"));
        assertTrue(t.startsWith("NAME"), t);
        String[] lines = t.split("\n");
        int col = lines[0].indexOf("ACCEL");
        assertTrue(col > 0, t);
        assertTrue(lines[1].startsWith("Emulated", col), "the accelerator sits under ACCEL: " + t);
        assertTrue(t.contains("web") && t.contains("Running") && t.contains("node-a") && t.contains("4242")
                && t.contains("321ms") && t.contains("5m"), t);
    }

    @Test
    void unknownCommandsAndMissingArgumentsAreUsageErrors() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = KubectlVm.run(new String[] {"logs"}, () -> {
            throw new AssertionError("no client needed");
        }, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
        assertEquals(2, rc);
        assertTrue(err.toString().contains("NAME"), err.toString());
    }
}
