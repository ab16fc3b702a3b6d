package dev.apiary.vmm.nvme;

import static dev.apiary.vmm.nvme.NvmeRig.command;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.device.IoEventRegistrar;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest that wrote and flushed loses nothing when the VMM process is killed (SIGKILL): the controller keeps
 * no data of its own between the guest's buffer and the file, and Flush completes only after fdatasync.
 */
class KilledVmmTest {
    @TempDir
    Path dir;

    /** The "VMM": drives a controller over the image named in args[0], flushes, reports, then waits to be killed. */
    public static void main(String[] args) throws Exception {
        Path d = Path.of(args[0]);
        NvmeRig rig = new NvmeRig(d, NvmeConfig.defaults("KILL", 1), 1 << 20, false, IoEventRegistrar.NONE);
        rig.enable();
        rig.createQueuePair(1, 16);
        long buf = rig.alloc(65536);
        rig.write(buf, NvmeIoTest.pattern(65536, 77));
        long list = rig.alloc(4096);
        for (int i = 1; i < 16; i++) {
            rig.write(list + 8L * (i - 1), NvmeIoTest.le64(buf + 4096L * i));
        }
        check(rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(buf).prp2(list).lba(128, 128)));
        check(rig.run(1, command(Opcodes.FLUSH).nsid(1)));
        System.out.println("FLUSHED " + rig.image);
        System.out.flush();
        Thread.sleep(60_000);
    }

    private static void check(NvmeRig.Cqe c) {
        if (c.status() != 0) {
            throw new IllegalStateException("status " + c.status());
        }
    }

    @Test
    void flushedDataSurvivesSigkill() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), KilledVmmTest.class.getName(),
                dir.toString()).redirectErrorStream(true).start();
        String image = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("FLUSHED ")) {
                    image = line.substring(8);
                    break;
                }
            }
            p.destroyForcibly(); // SIGKILL: no shutdown hooks, no finalizers, no close()
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        }
        assertTrue(image != null, "child did not get to the flush");
        assertEquals(137, p.exitValue(), "killed by SIGKILL");
        byte[] onDisk = new byte[65536];
        try (RandomAccessFile f = new RandomAccessFile(image, "r")) {
            f.seek(128 * 512);
            f.readFully(onDisk);
        }
        assertArrayEquals(NvmeIoTest.pattern(65536, 77), onDisk);
        assertEquals(1 << 20, Files.size(Path.of(image)));
    }
}
