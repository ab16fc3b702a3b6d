package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.ManifestException;
import dev.apiary.crds.Manifests;
import dev.apiary.vmm.net.PortForward;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MachineConfigTest {
    @TempDir
    Path dir;

    private MachineConfig confined(Path root, String kernel) throws Exception {
        return MachineConfig.from(Manifests.parse("spec: {boot: {kernel: {path: '" + kernel + "'}}}"), root, 0, true);
    }

    @Test
    void defaultsAndResolution() throws Exception {
        Path root = Files.createDirectories(dir.resolve("images"));
        Files.write(root.resolve("k"), new byte[1]);
        MachineConfig c = confined(root, "k");
        assertEquals(1, c.cpus());
        assertEquals(256L << 20, c.memoryBytes());
        assertEquals(root.resolve("k"), c.kernel());
    }

    @Test
    void imagePathsStayInsideTheImageRoot() throws Exception {
        Path root = Files.createDirectories(dir.resolve("images"));
        Files.write(dir.resolve("secret"), new byte[1]);
        Files.createSymbolicLink(root.resolve("link"), dir.resolve("secret"));
        assertTrue(assertThrows(ManifestException.class, () -> confined(root, dir.resolve("secret").toString()))
                .getMessage().contains("absolute"));
        assertTrue(assertThrows(ManifestException.class, () -> confined(root, "../secret"))
                .getMessage().contains(".."));
        ManifestException e = assertThrows(ManifestException.class, () -> confined(root, "link"));
        assertEquals("spec.boot.kernel.path", e.field());
        assertTrue(e.getMessage().contains("outside the image root"), e.getMessage());
    }

    @Test
    void unconfinedRunAllowsAbsolutePaths() throws Exception {
        Files.write(dir.resolve("k"), new byte[1]);
        MachineConfig c = MachineConfig.from(Manifests.parse("spec: {boot: {kernel: {path: '" + dir.resolve("k") + "'}}}"),
                Path.of("/"), 0);
        assertEquals(dir.resolve("k"), c.kernel());
    }

    @Test
    void firmwareBootFindsItsVariableStoreTemplate() throws Exception {
        Path root = Files.createDirectories(dir.resolve("images/ovmf"));
        Files.write(root.resolve("OVMF_CODE_4M.fd"), new byte[1]);
        Files.write(root.resolve("OVMF_VARS_4M.fd"), new byte[1]);
        Files.write(root.resolve("my-vars.fd"), new byte[1]);
        Path images = dir.resolve("images");
        MachineConfig c = MachineConfig.from(Manifests.parse(
                "spec: {boot: {firmware: {path: ovmf/OVMF_CODE_4M.fd}}}"), images, 0, true);
        assertNull(c.kernel());
        assertEquals(root.resolve("OVMF_CODE_4M.fd"), c.firmware().code());
        assertEquals(root.resolve("OVMF_VARS_4M.fd"), c.firmware().varsTemplate());
        assertNull(c.firmware().varsStore(), "whoever runs the VM says where its store is");
        MachineConfig explicit = MachineConfig.from(Manifests.parse(
                "spec: {boot: {firmware: {path: ovmf/OVMF_CODE_4M.fd, vars: ovmf/my-vars.fd}}}"), images, 0, true);
        assertEquals(root.resolve("my-vars.fd"), explicit.firmware().varsTemplate());
        ManifestException e = assertThrows(ManifestException.class, () -> MachineConfig.from(Manifests.parse(
                "spec: {boot: {firmware: {path: ovmf/OVMF_CODE_4M.fd, vars: ../../etc/passwd}}}"), images, 0, true));
        assertEquals("spec.boot.firmware.vars", e.field());
        assertEquals(dir.resolve("s.fd"), c.withFirmware(c.firmware().withVarsStore(dir.resolve("s.fd")))
                .firmware().varsStore());
    }

    @Test
    void memoryBounds() {
        assertThrows(ManifestException.class, () -> MachineConfig.from(
                Manifests.parse("spec: {memory: 32Mi, boot: {kernel: {path: k}}}"), dir, 0));
        assertThrows(ManifestException.class, () -> MachineConfig.from(
                Manifests.parse("spec: {memory: 1Gi, boot: {kernel: {path: k}}}"), dir, 512L << 20));
    }

    private MachineConfig withNetworks(String networks) throws Exception {
        Files.write(dir.resolve("k"), new byte[1]);
        return MachineConfig.from(Manifests.parse("metadata: {name: web, namespace: prod}\n"
                + "spec: {boot: {kernel: {path: k}}, networks: " + networks + "}"), dir, 0);
    }

    @Test
    void networksBecomeTapInterfacesWithStableMacs() throws Exception {
        MachineConfig c = withNetworks("[{name: a, backend: tap, tapName: vmtap0}, {name: b, macAddress: '52:54:00:01:02:03'}]");
        assertEquals(2, c.networks().size());
        MachineConfig.Network a = c.networks().get(0);
        assertEquals("vmtap0", a.tapName());
        assertEquals(-1, a.tapFd());
        assertTrue(a.mac().toString().startsWith("52:54:00:"), a.mac().toString());
        assertEquals(a.mac(), withNetworks("[{name: a}]").networks().get(0).mac(), "the same VM and name give the same MAC");
        assertNotEquals(a.mac(), withNetworks("[{name: c}]").networks().get(0).mac());
        assertEquals("52:54:00:01:02:03", c.networks().get(1).mac().toString());
        assertNull(c.networks().get(1).tapName());
    }

    @Test
    void otherBackendsAndModelsAreRefusedNamingTheField() {
        ManifestException e = assertThrows(ManifestException.class, () -> withNetworks("[{name: a, backend: vde}]"));
        assertEquals("spec.networks[0].backend", e.field());
        e = assertThrows(ManifestException.class, () -> withNetworks("[{name: a, model: e1000}]"));
        assertEquals("spec.networks[0].model", e.field());
        e = assertThrows(ManifestException.class, () -> withNetworks("[{name: a, macAddress: '01:00:5e:00:00:01'}]"));
        assertEquals("spec.networks[0].macAddress", e.field());
    }

    @Test
    void passtWithPortsAndQueuesUpToTheCpus() throws Exception {
        Files.write(dir.resolve("k"), new byte[1]);
        MachineConfig c = MachineConfig.from(Manifests.parse("metadata: {name: web, namespace: prod}\n"
                + "spec: {cpus: 4, boot: {kernel: {path: k}}, networks: [{name: u, backend: passt, ports: "
                + "[{port: 2222, guestPort: 22}, {protocol: UDP, port: 5353}]}, {name: t, queues: 4}]}"), dir, 0);
        MachineConfig.Network u = c.networks().get(0);
        assertEquals(MachineConfig.NetBackendKind.PASST, u.backend());
        assertEquals(List.of(new PortForward(PortForward.Protocol.TCP, 2222, 22),
                new PortForward(PortForward.Protocol.UDP, 5353, 5353)), u.ports());
        assertEquals(4, c.networks().get(1).queues());
        ManifestException e = assertThrows(ManifestException.class, () -> withNetworks("[{name: a, queues: 2}]"));
        assertEquals("spec.networks[0].queues", e.field(), "more queue pairs than the VM's one cpu");
        e = assertThrows(ManifestException.class, () -> withNetworks("[{name: a, ports: [{port: 80}]}]"));
        assertEquals("spec.networks[0].ports", e.field(), "ports only with passt");
        e = assertThrows(ManifestException.class,
                () -> withNetworks("[{name: a, backend: passt, ports: [{port: 80, protocol: SCTP}]}]"));
        assertEquals("spec.networks[0].ports[0].protocol", e.field());
    }
}
