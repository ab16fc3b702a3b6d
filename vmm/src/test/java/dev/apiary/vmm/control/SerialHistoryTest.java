package dev.apiary.vmm.control;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SerialHistoryTest {
    @Test
    void keepsTheBootHeadAndTheNewestBytesWithAbsoluteOffsets(@TempDir Path dir) throws Exception {
        RuntimeDir rt = new RuntimeDir(dir);
        byte[] all = new byte[50_000];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) ('A' + i % 23);
        }
        try (SerialHistory h = new SerialHistory(rt, 8192)) {
            for (int i = 0; i < all.length; i += 1000) {
                h.output(all, i, 1000);
                h.flush();
            }
        }
        byte[] boot = Files.readAllBytes(rt.serialBoot());
        assertArrayEquals(java.util.Arrays.copyOf(all, 4096), boot, "serial.boot: the first historyBytes/2 bytes");
        long offset = Long.parseLong(Files.readString(rt.serialOffset()).strip());
        byte[] log = Files.readAllBytes(rt.serialLog());
        assertEquals(all.length, offset + log.length, "offsets are absolute: serial.offset + length = bytes printed");
        assertTrue(log.length >= 8192 && log.length <= 2 * 8192, "serial.log keeps between 1 and 2 history sizes");
        assertArrayEquals(java.util.Arrays.copyOfRange(all, (int) offset, all.length), log);
        assertTrue(new String(log, StandardCharsets.ISO_8859_1).endsWith(new String(all, all.length - 10, 10,
                StandardCharsets.ISO_8859_1)));
    }
}
