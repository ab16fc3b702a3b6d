package dev.apiary.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class HostFactsTest {
    static final HostFacts BASE = new HostFacts(4, 8L << 30, true, null, null, "not run", "6.1.0", null);

    @Test
    void readsTheVerdictOfVmmDoctor() {
        String doctor = """
                {"kvmPresent":true,"kvmUsable":true,"apiVersion":12,"maxVcpus":240,"hostMemoryBytes":8321499136,
                 "fullGuests":false,"reason":"CPL0 code is emulated (2.1 M instructions/s); SSE at CPL0 fails",
                 "cpl0InstructionsPerSecond":2100000.0}
                """;
        HostFacts f = HostFacts.parseDoctor(BASE, doctor);
        assertEquals(12, f.kvmApiVersion());
        assertFalse(f.fullGuests());
        assertEquals("CPL0 code is emulated (2.1 M instructions/s); SSE at CPL0 fails", f.reason());
        assertEquals(4, f.cpus());
    }

    @Test
    void aHostWithoutKvmHasNoVerdict() {
        HostFacts f = HostFacts.parseDoctor(BASE, "{\"kvmPresent\":false,\"kvmUsable\":false,\"apiVersion\":null,"
                + "\"fullGuests\":false,\"reason\":\"/dev/kvm does not exist\"}");
        assertNull(f.fullGuests());
        assertFalse(f.kvmPresent());
        assertEquals("/dev/kvm does not exist", f.reason());
    }

    @Test
    void readsEveryAcceleratorsVerdict() {
        String doctor = """
                {"kvmPresent":false,"kvmUsable":false,"apiVersion":null,"maxVcpus":null,"hostMemoryBytes":8321499136,
                 "fullGuests":false,"reason":"/dev/kvm does not exist","cpl0InstructionsPerSecond":null,
                 "accelerators":[{"name":"KVM","available":false,"fullGuests":false,"reason":"/dev/kvm does not exist"},
                                 {"name":"Emulated","available":true,"fullGuests":false,"reason":"software x86-64 CPU"}]}
                """;
        HostFacts f = HostFacts.parseDoctor(new HostFacts(4, 8L << 30, false, null, null, "not run", "6.1.0", null),
                doctor);
        assertEquals(List.of(new AcceleratorVerdict("KVM", false, false, "/dev/kvm does not exist"),
                new AcceleratorVerdict("Emulated", true, false, "software x86-64 CPU")), f.accelerators());
        assertTrue(f.canRunVms(), "the software CPU runs VMs without KVM");
        assertFalse(f.kvmPresent());
    }

    @Test
    void aVmmFromBeforeAcceleratorsKnowsOnlyKvm() {
        HostFacts f = HostFacts.parseDoctor(BASE, "{\"kvmPresent\":true,\"kvmUsable\":true,\"apiVersion\":12,"
                + "\"fullGuests\":true,\"reason\":\"full guests run natively\"}");
        assertEquals(List.of(new AcceleratorVerdict("KVM", true, true, "full guests run natively")), f.accelerators());
        HostFacts none = HostFacts.parseDoctor(new HostFacts(4, 8L << 30, false, null, null, "not run", "6.1.0", null),
                "{\"kvmPresent\":false,\"kvmUsable\":false,\"reason\":\"/dev/kvm does not exist\"}");
        assertFalse(none.canRunVms());
    }

    @Test
    void beforeTheProbeOnlyDevKvmCounts() {
        assertTrue(BASE.canRunVms());
        assertNull(BASE.accelerators());
        assertFalse(new HostFacts(4, 1L << 30, false, null, null, "not run", "6.1.0", null).canRunVms());
    }

    @Test
    void garbageIsNoVerdict() {
        HostFacts f = HostFacts.parseDoctor(BASE, "Segmentation fault");
        assertNull(f.fullGuests());
        assertTrue(f.reason().startsWith("vmm doctor gave no verdict"), f.reason());
    }
}
