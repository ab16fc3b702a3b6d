package dev.apiary.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.crds.VmmNodeStatus;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The agent's part of a VmmNode status, from the host facts (no API server: {@code status} is pure). */
class NodeRegistrationTest {
    static final NodeRegistration REG = new NodeRegistration(null, "node-a", Map.of(), "https://node-a:9443", null,
            "0.1.0", null, null, 0, Clock.systemUTC());
    static final AcceleratorVerdict NO_KVM = new AcceleratorVerdict("KVM", false, false, "/dev/kvm does not exist");
    static final AcceleratorVerdict SOFT = new AcceleratorVerdict("Emulated", true, false, "software x86-64 CPU");

    static HostFacts facts(boolean kvm, List<AcceleratorVerdict> accel) {
        return new HostFacts(4, 8L << 30, kvm, null, null, "/dev/kvm does not exist", "6.1.0", accel);
    }

    static Condition ready(VmmNodeStatus s) {
        return s.conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst().orElseThrow();
    }

    @Test
    void aNodeWithoutKvmButWithTheSoftwareCpuIsReadyAndListsBoth() {
        VmmNodeStatus s = REG.status(null, facts(false, List.of(NO_KVM, SOFT)), "2026-01-01T00:00:00Z");
        assertEquals(2, s.accelerators.size());
        assertEquals("KVM", s.accelerators.get(0).name);
        assertFalse(s.accelerators.get(0).available);
        assertEquals("/dev/kvm does not exist", s.accelerators.get(0).reason);
        assertEquals("Emulated", s.accelerators.get(1).name);
        assertTrue(s.accelerators.get(1).available);
        assertFalse(s.kvm.present, "the old kvm block stays for older operators");
        assertEquals("True", ready(s).getStatus());
        assertEquals("AgentReady", ready(s).getReason());
        assertTrue(ready(s).getMessage().endsWith("accelerators: Emulated"), ready(s).getMessage());
    }

    @Test
    void aNodeWithNoAcceleratorIsNotReadyAndSaysWhy() {
        VmmNodeStatus s = REG.status(null, facts(false, List.of(NO_KVM)), "2026-01-01T00:00:00Z");
        assertEquals("False", ready(s).getStatus());
        assertEquals("NoAccelerator", ready(s).getReason());
        assertTrue(ready(s).getMessage().contains("KVM: /dev/kvm does not exist"), ready(s).getMessage());
    }

    @Test
    void beforeTheProbeAnswersNoListIsWrittenAndDevKvmDecides() {
        VmmNodeStatus s = REG.status(null, facts(true, null), "2026-01-01T00:00:00Z");
        assertNull(s.accelerators, "unknown, not empty: readers fall back to status.kvm");
        assertEquals("True", ready(s).getStatus());
        VmmNodeStatus t = REG.status(null, facts(false, null), "2026-01-01T00:00:00Z");
        assertEquals("False", ready(t).getStatus());
        assertTrue(ready(t).getMessage().contains("vmm doctor has not reported"), ready(t).getMessage());
    }
}
