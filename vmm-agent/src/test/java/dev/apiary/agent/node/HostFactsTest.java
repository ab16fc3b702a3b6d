package dev.apiary.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class HostFactsTest {
    static final HostFacts BASE = new HostFacts(4, 8L << 30, true, null, null, "not run", "6.1.0");

    @Test
    void readsTheVerdictOfVmmDoctor() {
        String doctor = """
                vmm doctor
                  /dev/kvm:        present
                  KVM API:         12 (all capabilities the VMM needs are present)
                  max vCPUs:       240
                  host RAM:        7936 MiB
                  probe:           CPL0 code is emulated (2.1 M instructions/s); SSE at CPL0 fails
                  full guests:     no — only guests that run their work in user mode (the Apiary guest kit) run
                """;
        HostFacts f = HostFacts.parseDoctor(BASE, doctor);
        assertEquals(12, f.kvmApiVersion());
        assertFalse(f.fullGuests());
        assertEquals("CPL0 code is emulated (2.1 M instructions/s); SSE at CPL0 fails", f.reason());
        assertEquals(4, f.cpus());
    }

    @Test
    void aHostWithoutKvmHasNoVerdict() {
        HostFacts f = HostFacts.parseDoctor(BASE, "vmm doctor\n  /dev/kvm:        missing — no such file\n"
                + "  verdict:         this host cannot run VMs\n");
        assertNull(f.fullGuests());
        assertEquals("missing — no such file", f.reason());
    }
}
