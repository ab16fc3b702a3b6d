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
        assertEquals(0, Main.doctor(new PrintStream(b, true, StandardCharsets.UTF_8)));
        String out = b.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertTrue(out.contains("/dev/kvm:        present"), out);
        assertTrue(out.matches("(?s).*full guests:\\s+(yes|no) — .*"), out);
        assertTrue(out.contains("M instructions/s at CPL0"), out);
    }
}
