package dev.apiary.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HostFactsTest {
    static final HostFacts BASE = new HostFacts(4, 8L << 30, true, null, null, "not run", "6.1.0");

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
    void garbageIsNoVerdict() {
        HostFacts f = HostFacts.parseDoctor(BASE, "Segmentation fault");
        assertNull(f.fullGuests());
        assertTrue(f.reason().startsWith("vmm doctor gave no verdict"), f.reason());
    }
}
