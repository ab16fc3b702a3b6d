package dev.apiary.crds;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class SpecValidationTest {
    private static final String GOOD = """
            spec:
              cpus: 2
              memory: 1Gi
              boot: {kernel: {path: vmlinuz, initrd: initrd.img}}
              disks: [{name: root, image: {path: disks/web.img}}, {name: data, image: {path: ..data/x.img}}]
              networks: [{name: default, model: virtio, backend: tap, macAddress: "52:54:00:12:34:56"}]
            """;

    private static List<String> fields(String yaml) throws Exception {
        return SpecValidation.problems(Manifests.parse(yaml).getSpec()).stream().map(ManifestException::field).toList();
    }

    @Test
    void acceptsAGoodSpec() throws Exception {
        assertEquals(List.of(), fields(GOOD));
    }

    @Test
    void namesEveryBadField() throws Exception {
        assertEquals(List.of("spec.cpus"), fields(GOOD.replace("cpus: 2", "cpus: 65")));
        assertEquals(List.of("spec.cpus"), fields(GOOD.replace("cpus: 2", "cpus: 0")));
        assertEquals(List.of("spec.memory"), fields(GOOD.replace("memory: 1Gi", "memory: 63Mi")));
        assertEquals(List.of("spec.memory"), fields(GOOD.replace("memory: 1Gi", "memory: lots")));
        assertEquals(List.of("spec.memory"), fields(GOOD.replace("  memory: 1Gi\n", "")));
        assertEquals(List.of("spec.boot"), fields(GOOD.replace("{kernel: {path: vmlinuz, initrd: initrd.img}}",
                "{kernel: {path: vmlinuz}, firmware: {path: OVMF.fd}}")));
        assertEquals(List.of("spec.boot"), fields(GOOD.replace("{kernel: {path: vmlinuz, initrd: initrd.img}}", "{}")));
        assertEquals(List.of("spec.boot.kernel.initrd"), fields(GOOD.replace("initrd.img", "/boot/initrd.img")));
        assertEquals(List.of("spec.disks"), fields(GOOD.replace("name: data", "name: root")));
        assertEquals(List.of("spec.disks[0].image.path"), fields(GOOD.replace("disks/web.img", "disks/../../etc/shadow")));
        assertEquals(List.of("spec.networks[0].model"), fields(GOOD.replace("virtio", "e1000")));
    }

    @Test
    void relativePathsStayBelowTheRoot() {
        for (String ok : List.of("a", "disks/web.img", ".hidden/x", "..x", "a/...", "a.b/c")) {
            assertTrue(SpecValidation.isRelativePath(ok), ok);
        }
        for (String bad : List.of("", "/etc/passwd", "..", "../x", "a/../b", "a/..", "./a", "a//b", "a/", "a/./b")) {
            assertFalse(SpecValidation.isRelativePath(bad), bad);
        }
    }
}
