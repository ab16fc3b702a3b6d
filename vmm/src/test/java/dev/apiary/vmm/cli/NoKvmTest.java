package dev.apiary.vmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host without KVM (a child JVM whose KVM device does not exist): a manifest that insists on KVM gets one
 * clear line and exit 2; Auto runs on the software CPU and says so once.
 */
class NoKvmTest {
    private static final Path KIT = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath()
            .resolve("guestkit/target/apiary-kit.bzImage");

    private record Result(int exit, String err, String out) {}

    private static Result vmm(Path dir, String accelerator, String cmdline, String... extra) throws Exception {
        Path m = dir.resolve("vm.yaml");
        Files.writeString(m, "kind: VirtualMachine\nspec:\n  accelerator: " + accelerator + "\n  memory: 64Mi\n"
                + "  boot: {kernel: {path: " + KIT + ", cmdline: \"" + cmdline + "\"}}\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Dapiary.kvm.device=" + dir.resolve("no-kvm"),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", m.toString()));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        String err = new String(p.getErrorStream().readAllBytes());
        assertTrue(p.waitFor(180, TimeUnit.SECONDS));
        return new Result(p.exitValue(), err, out);
    }

    @Test
    void kvmAskedForOnAHostWithoutIt(@TempDir Path dir) throws Exception {
        Result r = vmm(dir, "KVM", "kit.exit=poweroff");
        assertEquals(Main.EXIT_BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains("spec.accelerator: KVM is not usable on this host")
                && r.err().contains("no-kvm does not exist"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void autoRunsOnTheSoftwareCpuAndSaysSo(@TempDir Path dir) throws Exception {
        Result r = vmm(dir, "Auto", "kit.tests=banner kit.exit=poweroff");
        assertEquals(Main.EXIT_OK, r.exit(), r.err() + r.out());
        assertTrue(r.err().contains("KVM is not usable here") && r.err().contains("running on the software CPU"),
                r.err());
        assertTrue(r.out().contains("KIT banner Apiary guest kit"), r.out());
    }

    @Test
    void commandLineOverridesTheManifest(@TempDir Path dir) throws Exception {
        Result r = vmm(dir, "KVM", "kit.tests=banner kit.exit=poweroff", "--accel", "emulated");
        assertEquals(Main.EXIT_OK, r.exit(), r.err() + r.out());
        assertTrue(r.out().contains("KIT banner Apiary guest kit"), r.out());
        Result bad = vmm(dir, "Auto", "kit.exit=poweroff", "--accel", "tcg");
        assertEquals(Main.EXIT_BAD_INPUT, bad.exit());
        assertTrue(bad.err().contains("--accel needs one of auto, kvm, emulated"), bad.err());
    }
}
