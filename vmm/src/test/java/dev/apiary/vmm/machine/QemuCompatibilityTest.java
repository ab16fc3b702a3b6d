package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.accel.kvm.KvmAccelerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The guest kit is a real boot-protocol image: QEMU's {@code -M pc -kernel} (SeaBIOS, real-mode entry) boots
 * it too, and every check passes there. This keeps side-by-side benchmarks honest.
 */
class QemuCompatibilityTest {
    @Test
    void kitBootsUnderQemuPc() throws Exception {
        assertTrue(Files.isRegularFile(GuestKit.IMAGE), "guest kit not built");
        Path qemu = Path.of("/usr/bin/qemu-system-x86_64");
        if (!Files.isExecutable(qemu)) {
            System.out.println("SKIP QemuCompatibilityTest: qemu-system-x86_64 is not installed (scripts/install-deps --test)");
        }
        Assumptions.assumeTrue(Files.isExecutable(qemu), "qemu-system-x86_64 not installed");
        // QEMU's own accelerator choice, as ours: KVM where usable, else TCG (both run every kit check).
        List<String> accel = KvmAccelerator.unavailableReason() == null
                ? List.of("-enable-kvm", "-cpu", "host,-arch-capabilities") : List.of("-accel", "tcg", "-cpu", "max");
        List<String> cmd = new java.util.ArrayList<>(List.of(qemu.toString()));
        cmd.addAll(accel);
        cmd.addAll(List.of("-M", "pc",
                "-smp", "2", "-m", "256", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
                "-kernel", GuestKit.IMAGE.toString(), "-append", "kit.exit=poweroff"));
        Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes()).replace("\r", "");
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "QEMU did not exit");
        System.out.println(out);
        GuestKit.Run r = new GuestKit.Run(null, out, 1);
        for (String check : List.of("cpus", "e820", "pci", "acpi", "rtc", "pmtimer", "irq", "bootparams")) {
            r.ok(check);
        }
        assertEquals("2", GuestKit.Run.field(r.ok("cpus"), "smp"));
        assertTrue(r.marker("done").isPresent());
        assertEquals(0, p.exitValue());
    }
}
