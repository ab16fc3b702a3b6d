package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.ManifestException;
import dev.apiary.crds.Manifests;
import java.nio.file.Files;
import java.nio.file.Path;
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
    void memoryBounds() {
        assertThrows(ManifestException.class, () -> MachineConfig.from(
                Manifests.parse("spec: {memory: 32Mi, boot: {kernel: {path: k}}}"), dir, 0));
        assertThrows(ManifestException.class, () -> MachineConfig.from(
                Manifests.parse("spec: {memory: 1Gi, boot: {kernel: {path: k}}}"), dir, 512L << 20));
    }
}
