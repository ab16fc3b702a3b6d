package dev.apiary.vmm.firmware;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The variable store's flash: the command sequences OVMF's QemuFlash.c issues, and what a hostile guest might. */
class PflashTest {
    private static final int BLOCK = 4096;

    private static byte[] pattern(int size) {
        byte[] b = new byte[size];
        new Random(7).nextBytes(b);
        return b;
    }

    private static int read8(Pflash f, long offset) {
        return (int) f.read(offset, 1);
    }

    @Test
    void readsTheArrayAtAnyWidth() {
        byte[] data = pattern(4 * BLOCK);
        Pflash f = new Pflash("t", data, BLOCK, null);
        assertEquals(data[5] & 0xFF, read8(f, 5));
        long expected = 0;
        for (int i = 7; i >= 0; i--) {
            expected = (expected << 8) | (data[100 + i] & 0xFF);
        }
        assertEquals(expected, f.read(100, 8));
        assertEquals(0xFF, read8(f, -1), "outside the device");
        assertEquals(0xFFFF, f.read(4 * BLOCK, 2), "outside the device");
    }

    /** OVMF's QemuFlashDetected: find a byte that is no command echo, write 0x50 and 0x70, expect status 0. */
    @Test
    void ovmfDetectsAFlash() {
        byte[] data = pattern(BLOCK);
        data[0] = 0x50; // the probe skips command-like bytes
        Pflash f = new Pflash("t", data, BLOCK, null);
        int probe = 1;
        int original = read8(f, probe);
        f.write(probe, 1, 0x50); // clear status
        assertEquals(original, read8(f, probe), "not RAM: the array is still there");
        f.write(probe, 1, 0x70); // read status
        assertEquals(0x00, read8(f, probe), "a flash: cleared status");
        f.write(probe, 1, 0xFF);
        assertEquals(original, read8(f, probe));
    }

    /** OVMF's QemuFlashWrite and QemuFlashEraseBlock, written through to the backing file. */
    @Test
    void programAndEraseArePersisted(@TempDir Path dir) throws Exception {
        byte[] data = pattern(4 * BLOCK);
        Path file = dir.resolve("vars.fd");
        Files.write(file, data);
        Pflash f = new Pflash("t", data, BLOCK, FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE));
        f.write(BLOCK + 17, 1, 0x20);
        f.write(BLOCK + 17, 1, 0xD0);
        assertEquals(0x80, read8(f, BLOCK), "status after erase: ready, no error");
        f.write(0, 1, 0xFF);
        byte[] msg = "APIARY".getBytes();
        for (int i = 0; i < msg.length; i++) {
            f.write(BLOCK + 3 + i, 1, 0x10);
            f.write(BLOCK + 3 + i, 1, msg[i]);
        }
        f.write(BLOCK + 3 + msg.length - 1, 1, 0xFF);
        f.stop();
        byte[] expected = data.clone();
        Arrays.fill(expected, BLOCK, 2 * BLOCK, (byte) 0xFF);
        System.arraycopy(msg, 0, expected, BLOCK + 3, msg.length);
        assertArrayEquals(expected, f.contents());
        assertArrayEquals(expected, Files.readAllBytes(file), "the store on disk has the guest's writes");
        assertEquals('A', read8(f, BLOCK + 3));
    }

    @Test
    void cfiQueryAndIdentifier() {
        Pflash f = new Pflash("t", new byte[132 * BLOCK], BLOCK, null);
        f.write(0x55, 1, 0x98);
        assertEquals('Q', read8(f, 0x10));
        assertEquals('R', read8(f, 0x11));
        assertEquals('Y', read8(f, 0x12));
        assertEquals(1, read8(f, 0x13), "Intel/Sharp command set");
        assertEquals(20, read8(f, 0x27), "2^20 bytes covers 528 KiB");
        assertEquals(131, read8(f, 0x2D) | read8(f, 0x2E) << 8, "blocks - 1");
        assertEquals(BLOCK, (read8(f, 0x2F) | read8(f, 0x30) << 8) * 256, "block size");
        f.write(0, 1, 0x90);
        assertEquals(0x89, read8(f, 0));
        assertEquals(0x18, read8(f, 1));
        f.write(0, 1, 0xF0);
        assertEquals(0, read8(f, 0x10), "back to the array");
    }

    @Test
    void brokenSequencesAndHostileAccessesChangeNothing() {
        byte[] data = pattern(2 * BLOCK);
        Pflash f = new Pflash("t", data, BLOCK, null);
        f.write(10, 1, 0x20);
        f.write(10, 1, 0x70); // not a confirm
        assertEquals(0x80 | 0x30, read8(f, 0), "command sequence error");
        f.write(0, 1, 0x50);
        f.write(-5, 4, 0x20);
        f.write(-5, 4, 0xD0); // erase outside the device
        f.write(2 * BLOCK - 1, 8, 0x40);
        f.write(2 * BLOCK - 1, 8, 0x1122334455667788L); // program straddling the end: only the last byte
        f.write(0, 1, 0xFF);
        byte[] expected = data.clone();
        expected[2 * BLOCK - 1] = (byte) 0x88;
        assertArrayEquals(expected, f.contents());
        f.write(0, 1, 0x42); // unknown command: read array
        assertEquals(data[0] & 0xFF, read8(f, 0));
        f.write(0, 1, 0x70);
        f.reset();
        assertEquals(data[0] & 0xFF, read8(f, 0), "a machine reset leaves command modes");
    }

    @Test
    void contentsMustBeWholeBlocks() {
        assertThrows(IllegalArgumentException.class, () -> new Pflash("t", new byte[BLOCK + 1], BLOCK, null));
        assertThrows(IllegalArgumentException.class, () -> new Pflash("t", new byte[0], BLOCK, null));
    }
}
