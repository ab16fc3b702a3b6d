package dev.apiary.vmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `vmm run` refuses what the CRD refuses (crds' SpecValidation, checked against the CRD's schema and CEL rules by
 * ValidationAgreementTest), in the API server's words, every problem on its own line, before it opens any file.
 */
class CrdRulesTest {
    @TempDir
    Path dir;

    private List<String> refusal(String spec) throws Exception {
        Path m = dir.resolve("vm.yaml");
        Files.writeString(m, "apiVersion: apiary.dev/v1alpha1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n" + spec);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"run", m.toString()}, new PrintStream(b, true, StandardCharsets.UTF_8));
        String err = b.toString(StandardCharsets.UTF_8);
        assertEquals(Main.EXIT_BAD_INPUT, code, err);
        assertFalse(err.contains("Exception"), err);
        return err.strip().lines().map(l -> l.substring(l.indexOf("vm.yaml: ") + "vm.yaml: ".length())).toList();
    }

    @Test
    void everyProblemInTheApiServersWords() throws Exception {
        assertEquals(List.of("spec.boot: Invalid value: \"object\": exactly one of boot.kernel or boot.firmware must be set",
                        "spec.cpus: Invalid value: 0: should be greater than or equal to 1",
                        "spec.disks: Invalid value: \"array\": disk names must be unique",
                        "spec.disks[1].blockSize: Invalid value: 1000: blockSize must be 512 or 4096"),
                refusal("""
                          cpus: 0
                          boot: {}
                          disks: [{name: a, image: {path: a.img}}, {name: a, blockSize: 1000, image: {path: b.img}}]
                        """));
    }

    @Test
    void workstationManifestsNeedNoImageRootNorSizes() throws Exception {
        // Absolute and '..' paths and a missing cpus/memory pass the rules; the kernel file is what is missing here.
        List<String> r = refusal("  boot: {kernel: {path: " + dir.resolve("../nowhere/vmlinuz") + "}}\n");
        assertEquals(1, r.size(), r.toString());
        assertTrue(r.get(0).startsWith("spec.boot.kernel.path: "), r.toString());
        assertTrue(r.get(0).contains("does not exist"), r.toString());
    }
}
