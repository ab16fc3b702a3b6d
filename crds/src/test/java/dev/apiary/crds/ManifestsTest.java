package dev.apiary.crds;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class ManifestsTest {
    @Test
    void readsTheDesignManifest() throws Exception {
        VirtualMachine vm = Manifests.parse("""
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata: {name: web, namespace: default}
                spec:
                  runStrategy: Always
                  cpus: 2
                  memory: 1Gi
                  boot:
                    kernel: {path: vmlinuz, initrd: initrd.img, cmdline: "console=ttyS0"}
                  disks:
                    - {name: root, bus: nvme, image: {path: disks/web.img}, readOnly: false}
                  networks:
                    - {name: default, model: virtio, backend: tap}
                  serial: {historyBytes: 1Mi}
                  display: {vnc: true}
                  nodeSelector: {}
                """);
        assertEquals("web", vm.getMetadata().getName());
        assertEquals(RunStrategy.Always, vm.getSpec().runStrategy);
        assertEquals(2, vm.getSpec().cpus);
        assertEquals(1L << 30, Manifests.bytes(vm.getSpec().memory, "spec.memory"));
        assertEquals("vmlinuz", vm.getSpec().boot.kernel.path);
        assertEquals("disks/web.img", vm.getSpec().disks.get(0).image.path);
        assertEquals(1L << 20, Manifests.bytes(vm.getSpec().serial.historyBytes, "spec.serial.historyBytes"));
        assertTrue(vm.getSpec().display.vnc);
    }

    @Test
    void unknownFieldNamesItsPath() {
        ManifestException e = assertThrows(ManifestException.class, () -> Manifests.parse("""
                kind: VirtualMachine
                spec:
                  disks:
                    - {name: a, bus: nvme, image: {pth: x}}
                """));
        assertEquals("spec.disks[0].image.pth", e.field());
    }

    @Test
    void badEnumListsTheChoices() {
        ManifestException e = assertThrows(ManifestException.class,
                () -> Manifests.parse("spec: {runStrategy: Sometimes}"));
        assertEquals("spec.runStrategy", e.field());
        assertTrue(e.getMessage().contains("Always"), e.getMessage());
    }

    @Test
    void badQuantityIsRefused() throws Exception {
        VirtualMachine vm = Manifests.parse("spec: {memory: lots}");
        assertThrows(ManifestException.class, () -> Manifests.bytes(vm.getSpec().memory, "spec.memory"));
    }

    @Test
    void vmmReaderGivesTheSameSpecAndTheSameErrors() throws Exception {
        String text = """
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata: {name: web, namespace: prod, uid: u-1, labels: {a: b}}
                spec: {cpus: 3, memory: 1Gi, boot: {kernel: {path: k}}, disks: [{name: d, image: {path: x}}]}
                """;
        Manifests.VmManifest m = Manifests.parseVm(text);
        assertEquals("web", m.name());
        assertEquals("prod", m.namespace());
        assertEquals("u-1", m.uid());
        assertEquals(3, m.spec().cpus);
        assertEquals("x", m.spec().disks.get(0).image.path);

        assertEquals("spec.disks[0].image.pth", assertThrows(ManifestException.class,
                () -> Manifests.parseVm("spec: {disks: [{name: a, image: {pth: x}}]}")).field());
        assertEquals("spec.runStrategy", assertThrows(ManifestException.class,
                () -> Manifests.parseVm("spec: {runStrategy: Sometimes}")).field());
        assertEquals("kind", assertThrows(ManifestException.class,
                () -> Manifests.parseVm("kind: Pod\nspec: {}")).field());
        assertEquals("apiVersion", assertThrows(ManifestException.class,
                () -> Manifests.parseVm("apiVersion: v1\nspec: {}")).field());
        assertEquals("spc", assertThrows(ManifestException.class, () -> Manifests.parseVm("spc: {}")).field());
        assertEquals("spec", assertThrows(ManifestException.class, () -> Manifests.parseVm("kind: VirtualMachine")).field());
        assertThrows(ManifestException.class, () -> Manifests.parseVm("- a\n- b"));
        assertThrows(ManifestException.class, () -> Manifests.parseVm("spec: {cpus: [1"));
    }

    @Test
    void jsonSpecsAreReadWithTheSameChecks() throws Exception {
        Manifests.VmManifest m = Manifests.parseVm("  {\"kind\":\"VirtualMachine\",\"metadata\":{\"name\":\"j\"},"
                + "\"spec\":{\"cpus\":2,\"memory\":\"128Mi\"}}");
        assertEquals("j", m.name());
        assertEquals(2, m.spec().cpus);
        assertEquals("spec.cpux", assertThrows(ManifestException.class,
                () -> Manifests.parseVm("{\"spec\":{\"cpux\":2}}")).field());
        assertEquals("spec.runStrategy", assertThrows(ManifestException.class,
                () -> Manifests.parse("{\"spec\":{\"runStrategy\":\"Never\"}}")).field());
    }
}
