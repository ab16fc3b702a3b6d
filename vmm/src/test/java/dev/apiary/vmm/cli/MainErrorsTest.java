package dev.apiary.vmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input ends `vmm run` with one clear line naming the field or file, exit status 2, no stack trace. */
class MainErrorsTest {
    @TempDir
    Path dir;

    private record Result(int code, String err) {}

    private Result run(String... args) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(b, true, StandardCharsets.UTF_8));
        String err = b.toString(StandardCharsets.UTF_8);
        return new Result(code, err);
    }

    private Path manifest(String spec) throws Exception {
        Path m = dir.resolve("vm.yaml");
        Files.writeString(m, "apiVersion: apiary.dev/v1alpha1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n" + spec);
        return m;
    }

    private static void assertOneLine(Result r, String... fragments) {
        assertEquals(Main.EXIT_BAD_INPUT, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line, got:\n" + r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
        }
    }

    @Test
    void missingManifest() {
        assertOneLine(run("run", dir.resolve("nope.yaml").toString()), "nope.yaml", "does not exist");
    }

    @Test
    void unknownField() throws Exception {
        assertOneLine(run("run", manifest("  cpus: 1\n  bogus: 3\n").toString()), "spec.bogus", "unknown field");
    }

    @Test
    void badCpuCount() throws Exception {
        assertOneLine(run("run", manifest("  cpus: 65\n  boot: {kernel: {path: k}}\n").toString()), "spec.cpus");
    }

    @Test
    void missingKernel() throws Exception {
        assertOneLine(run("run", manifest("  boot: {kernel: {path: vmlinuz}}\n").toString()),
                "spec.boot.kernel.path", "vmlinuz", "does not exist");
    }

    @Test
    void kernelThatIsNotABzImage() throws Exception {
        Files.writeString(dir.resolve("notes.txt"), "this is not a kernel, just some text that is long enough".repeat(20));
        assertOneLine(run("run", manifest("  boot: {kernel: {path: notes.txt}}\n").toString()), "notes.txt");
    }

    @Test
    void tooMuchMemory() throws Exception {
        Files.write(dir.resolve("k"), new byte[16]);
        assertOneLine(run("run", manifest("  memory: 900Ti\n  boot: {kernel: {path: k}}\n").toString()),
                "spec.memory");
        assertOneLine(run("run", manifest("  memory: 100Gi\n  boot: {kernel: {path: k}}\n").toString()),
                "spec.memory", "more than this host");
    }

    @Test
    void firmwareImagesAreCheckedBeforeAnythingRuns() throws Exception {
        assertOneLine(run("run", manifest("  boot: {firmware: {path: OVMF_CODE.fd}}\n").toString()),
                "spec.boot.firmware.path", "does not exist");
        Files.write(dir.resolve("OVMF.fd"), new byte[4096]);
        assertOneLine(run("run", manifest("  boot: {firmware: {path: OVMF.fd}}\n").toString()),
                "spec.boot.firmware.vars", "OVMF_VARS_4M.fd");
        Files.write(dir.resolve("OVMF_CODE.fd"), new byte[4096]);
        assertOneLine(run("run", manifest("  boot: {firmware: {path: OVMF_CODE.fd}}\n").toString()),
                "spec.boot.firmware.vars", "OVMF_VARS.fd", "does not exist");
        Files.write(dir.resolve("OVMF_VARS.fd"), new byte[4096]);
        assertOneLine(run("run", manifest("  boot: {firmware: {path: OVMF_CODE.fd}}\n").toString()),
                "OVMF_CODE.fd", "not a UEFI firmware volume");
        Files.write(dir.resolve("k"), new byte[16]);
        assertOneLine(run("run", manifest("  boot: {kernel: {path: k}}\n").toString(), "--uefi-vars", "v.fd"),
                "--uefi-vars", "spec.boot.firmware");
    }

    @Test
    void featuresNotBuiltYetAreRefusedByName() throws Exception {
        Files.write(dir.resolve("k"), new byte[16]);
        assertOneLine(run("run", manifest("  boot: {kernel: {path: k}}\n  networks: [{name: n0, backend: vde}]\n")
                .toString()), "spec.networks[0].backend", "vde");
    }

    @Test
    void vncOptionsAreChecked() throws Exception {
        Files.write(dir.resolve("k"), new byte[16]);
        String m = manifest("  boot: {kernel: {path: k}}\n").toString();
        assertOneLine(run("run", m, "--vnc", "nowhere"), "--vnc", "HOST:PORT");
        assertOneLine(run("run", m, "--vnc-password-file", "p"), "--vnc-password-file", "--vnc");
        assertOneLine(run("run", m, "--vnc", "127.0.0.1:0", "--vnc-password-file", dir.resolve("nope").toString()),
                "--vnc-password-file", "nope");
    }

    @Test
    void displaySizeIsChecked() throws Exception {
        Files.write(dir.resolve("k"), new byte[16]);
        assertOneLine(run("run", manifest("  boot: {kernel: {path: k}}\n  display: {vnc: true, width: 10}\n").toString()),
                "spec.display.width", "64");
    }

    @Test
    void diskProblemsNameTheDisk() throws Exception {
        Files.write(dir.resolve("k"), new byte[16]);
        assertOneLine(run("run", manifest("  boot: {kernel: {path: k}}\n  disks: [{name: d, image: {path: nope.img}}]\n")
                .toString()), "spec.disks[0].image.path", "does not exist");
        Files.write(dir.resolve("odd.img"), new byte[1000]);
        assertOneLine(run("run", manifest("  boot: {kernel: {path: k}}\n  disks: [{name: d, image: {path: odd.img}}]\n")
                .toString()), "spec.disks[0].image.path", "not a multiple");
        Files.write(dir.resolve("a.img"), new byte[4096]);
        assertOneLine(run("run", manifest("  boot: {kernel: {path: k}}\n  disks: [{name: d, image: {path: a.img}},"
                + " {name: d, image: {path: a.img}}]\n").toString()), "spec.disks", "disk names must be unique");
        assertOneLine(run("run", manifest("  boot: {kernel: {path: k}}\n  disks: [{name: d, blockSize: 1024, image: {path: a.img}}]\n")
                .toString()), "spec.disks[0].blockSize");
    }

    @Test
    void unknownOptionAndCommand() {
        assertEquals(Main.EXIT_BAD_INPUT, run("run", "--frobnicate", "x.yaml").code());
        assertEquals(Main.EXIT_BAD_INPUT, run("explode").code());
    }
}
