package dev.apiary.agent.api;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.agent.runtime.RunDir;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** History with absolute offsets across serial.boot (the start of the boot) and serial.log (the newest bytes). */
class SerialHistoryTest {
    @Test
    void bootHeadThenGapThenLatestOutput(@TempDir Path dir) throws Exception {
        // The guest printed 0..999; the VMM kept bytes 0..99 in serial.boot and 900..999 in serial.log.
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            all.append((char) ('a' + i % 26));
        }
        Files.writeString(dir.resolve("serial.boot"), all.substring(0, 100));
        Files.writeString(dir.resolve("serial.log"), all.substring(900));
        Files.writeString(dir.resolve("serial.offset"), "900");
        RunDir run = new RunDir(dir);

        SerialHistory.Chunk head = SerialHistory.read(run, 0L, 60, null);
        assertEquals(0, head.offset());
        assertEquals(all.substring(0, 60), new String(head.bytes(), StandardCharsets.ISO_8859_1));
        assertEquals(1000, head.end());

        SerialHistory.Chunk rest = SerialHistory.read(run, head.next(), 1000, null);
        assertEquals(all.substring(60, 100), new String(rest.bytes(), StandardCharsets.ISO_8859_1));

        SerialHistory.Chunk afterGap = SerialHistory.read(run, rest.next(), 1000, null);
        assertEquals(900, afterGap.offset(), "bytes 100..899 are gone: the read continues at the oldest kept");
        assertEquals(all.substring(900), new String(afterGap.bytes(), StandardCharsets.ISO_8859_1));

        SerialHistory.Chunk tail = SerialHistory.read(run, null, null, 10);
        assertEquals(990, tail.offset());
        assertEquals(all.substring(990), new String(tail.bytes(), StandardCharsets.ISO_8859_1));
    }
}
