package dev.apiary.vmm.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileBlockBackendTest {
    @TempDir
    Path dir;

    Path image(long size) throws IOException {
        Path p = dir.resolve("img-" + System.nanoTime());
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    @Test
    void positionalReadsAndWritesThroughDirectBuffers() throws Exception {
        Path p = image(1 << 20);
        try (FileBlockBackend b = FileBlockBackend.open(p, false)) {
            assertEquals(1 << 20, b.size());
            ByteBuffer src = ByteBuffer.allocateDirect(4096);
            for (int i = 0; i < 4096; i++) {
                src.put(i, (byte) (i * 7));
            }
            b.write(8192, src);
            b.flush();
            ByteBuffer dst = ByteBuffer.allocateDirect(4096);
            b.read(8192, dst);
            dst.flip();
            assertEquals(src.rewind(), dst);
        }
        byte[] onDisk = Files.readAllBytes(p);
        assertEquals((byte) 7, onDisk[8193]);
    }

    @Test
    void readsPastTheEndAreZeroes() throws Exception {
        Path p = image(1000);
        try (FileBlockBackend b = FileBlockBackend.open(p, false)) {
            ByteBuffer dst = ByteBuffer.allocate(512);
            dst.put(0, (byte) 1);
            b.read(900, dst);
            assertEquals(0, dst.get(0));
            assertEquals(0, dst.get(511));
        }
    }

    @Test
    void readOnlyRefusesEveryChange() throws Exception {
        Path p = image(4096);
        try (FileBlockBackend b = FileBlockBackend.open(p, true)) {
            assertTrue(b.readOnly());
            assertThrows(IOException.class, () -> b.write(0, ByteBuffer.allocate(1)));
            assertThrows(IOException.class, () -> b.writeZeroes(0, 512));
            assertThrows(IOException.class, () -> b.discard(0, 512));
            b.flush(); // nothing to flush, no error
        }
    }

    @Test
    void discardAndWriteZeroesReadAsZeroesAndNeverGrowTheFile() throws Exception {
        Path p = image(1 << 20);
        byte[] ones = new byte[1 << 20];
        java.util.Arrays.fill(ones, (byte) 0xFF);
        Files.write(p, ones);
        try (FileBlockBackend b = FileBlockBackend.open(p, false)) {
            b.discard(4096, 8192);
            b.writeZeroes(65536, 4096);
            b.discard((1 << 20) - 512, 4096); // runs past the end
        }
        byte[] after = Files.readAllBytes(p);
        assertEquals(1 << 20, after.length);
        assertArrayEquals(new byte[8192], java.util.Arrays.copyOfRange(after, 4096, 12288));
        assertArrayEquals(new byte[4096], java.util.Arrays.copyOfRange(after, 65536, 69632));
        assertEquals((byte) 0xFF, after[4095]);
        assertEquals((byte) 0xFF, after[12288]);
        assertEquals(0, after[(1 << 20) - 1]);
    }
}
