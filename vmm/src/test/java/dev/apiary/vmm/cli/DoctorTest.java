package dev.apiary.vmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.kvm.Kvm;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class DoctorTest {
    @Test
    void doctorStatesTheVerdictAndWhy() {
        String noKvm = Kvm.unavailableReason();
        Assumptions.assumeTrue(noKvm == null, noKvm);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertEquals(0, Main.doctor(new PrintStream(b, true, StandardCharsets.UTF_8), false));
        String out = b.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertTrue(out.contains("/dev/kvm:        present"), out);
        assertTrue(out.matches("(?s).*full guests:\\s+(yes|no) — .*"), out);
        assertTrue(out.contains("M instructions/s at CPL0"), out);
    }

    @Test
    void jsonForTheAgent() throws Exception {
        String noKvm = Kvm.unavailableReason();
        Assumptions.assumeTrue(noKvm == null, noKvm);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertEquals(0, Main.doctor(new PrintStream(b, true, StandardCharsets.UTF_8), true));
        var j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(b.toString(StandardCharsets.UTF_8));
        assertTrue(j.get("kvmPresent").asBoolean());
        assertEquals(12, j.get("apiVersion").asInt());
        assertTrue(j.get("fullGuests").isBoolean());
        assertTrue(j.get("reason").asText().contains("CPL0"), j.toString());
        assertTrue(j.get("cpl0InstructionsPerSecond").asDouble() > 0);
    }
}
