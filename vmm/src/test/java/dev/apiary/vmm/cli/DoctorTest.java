package dev.apiary.vmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.vmm.accel.kvm.KvmAccelerator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code vmm doctor} names both accelerators with a verdict and a reason, on hosts with and without KVM. */
class DoctorTest {
    private static final String NO_KVM = KvmAccelerator.unavailableReason();

    @Test
    void doctorStatesTheVerdictAndWhy() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertEquals(0, Main.doctor(new PrintStream(b, true, StandardCharsets.UTF_8), false));
        String out = b.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertTrue(out.contains("Emulated:        available — software x86-64 CPU"), out);
        if (NO_KVM == null) {
            assertTrue(out.contains("/dev/kvm:        present"), out);
            assertTrue(out.matches("(?s).*full guests:\\s+(yes|no) — .*"), out);
            assertTrue(out.contains("M instructions/s at CPL0"), out);
        } else {
            assertTrue(out.contains("/dev/kvm:        missing — " + NO_KVM), out);
            assertTrue(out.contains("VMs run on the software CPU (Emulated) only"), out);
        }
    }

    @Test
    void jsonForTheAgent() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertEquals(0, Main.doctor(new PrintStream(b, true, StandardCharsets.UTF_8), true));
        JsonNode j = new ObjectMapper().readTree(b.toString(StandardCharsets.UTF_8));
        JsonNode accels = j.get("accelerators");
        assertEquals(2, accels.size(), j.toString());
        JsonNode kvm = accels.get(0);
        JsonNode emu = accels.get(1);
        assertEquals("KVM", kvm.get("name").asText());
        assertEquals("Emulated", emu.get("name").asText());
        assertTrue(emu.get("available").asBoolean());
        assertFalse(emu.get("reason").asText().isEmpty());
        assertEquals(NO_KVM == null, j.get("kvmPresent").asBoolean(), j.toString());
        if (NO_KVM == null) {
            assertEquals(12, j.get("apiVersion").asInt());
            assertTrue(j.get("fullGuests").isBoolean());
            assertTrue(j.get("reason").asText().contains("CPL0"), j.toString());
            assertTrue(j.get("cpl0InstructionsPerSecond").asDouble() > 0);
            assertEquals(j.get("kvmUsable").asBoolean(), kvm.get("available").asBoolean());
        } else {
            assertFalse(kvm.get("available").asBoolean());
            assertEquals(NO_KVM, kvm.get("reason").asText());
            assertFalse(j.get("kvmUsable").asBoolean());
        }
    }
}
