package dev.apiary.vmm.accel.kvm;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.accel.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class HostProbeTest {
    @Test
    void probeGivesAVerdictWithFigures() {
        String why = Kvm.unavailableReason();
        if (why != null) {
            System.out.println("SKIP HostProbeTest: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
        HostProbe.Result r = HostProbe.run();
        System.out.println("probe: " + r.summary());
        assertTrue(r.kvmUsable(), r.reason());
        assertTrue(r.cpl0InstructionsPerSecond() > 0, "the CPL0 loop was timed");
        // The verdict must agree with its own evidence.
        assertEquals(r.fullGuests(), r.fpuAtCpl0() && r.cpl0InstructionsPerSecond() >= 50e6, r.summary());
        boolean hardwareVirt = cpuinfoHasVmxOrSvm();
        if (!hardwareVirt) {
            // Hosts without VT-x/AMD-V in their CPU flags get KVM from a nested, emulating module.
            assertFalse(r.fullGuests(), "no vmx/svm on this host, yet the probe says full guests work: " + r.summary());
        }
    }

    private static boolean cpuinfoHasVmxOrSvm() {
        try {
            String s = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/cpuinfo"));
            return s.matches("(?s).*\\bflags\\s*:.*\\b(vmx|svm)\\b.*");
        } catch (java.io.IOException e) {
            return true;
        }
    }
}
