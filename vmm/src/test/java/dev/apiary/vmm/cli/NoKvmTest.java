package dev.apiary.vmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A host without KVM gets one clear line and exit 2 (run in a child JVM whose KVM device does not exist). */
class NoKvmTest {
    @Test
    void hostWithoutKvm(@TempDir Path dir) throws Exception {
        Path root = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath();
        Path kernel = root.resolve("guestkit/target/apiary-kit.bzImage");
        Path m = dir.resolve("vm.yaml");
        Files.writeString(m, "kind: VirtualMachine\nspec:\n  boot: {kernel: {path: " + kernel + "}}\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-Dapiary.kvm.device=" + dir.resolve("no-kvm"),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", m.toString()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String err = new String(p.getErrorStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(Main.EXIT_BAD_INPUT, p.exitValue(), err);
        assertTrue(err.contains("cannot run VMs on this host") && err.contains("no-kvm does not exist"), err);
        assertEquals(1, err.strip().lines().count(), err);
    }
}
