package dev.apiary.agent.api;

import dev.apiary.agent.runtime.RunDir;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.NoSuchFileException;

/**
 * Reads COM1 history from a runtime directory with absolute byte offsets: serial.log holds the bytes from
 * serial.offset (absent = 0) on; the VMM may cut its head off (rewriting serial.offset), so a read that sees the
 * offset change under it starts over. serial.boot keeps the first bytes of the boot (offsets 0 on) for good: a
 * read from before serial.log's first byte is served from it, and continues in serial.log after a gap.
 */
public final class SerialHistory {
    public static final int DEFAULT_MAX = 1 << 20;
    public static final int LIMIT = 8 << 20;

    private SerialHistory() {}

    /**
     * @param start  the oldest offset still kept
     * @param offset the offset of {@code bytes[0]}
     * @param end    the offset after the newest byte written so far (= offset + bytes.length when the read reached it)
     */
    public record Chunk(long start, long offset, long end, byte[] bytes) {
        public long next() {
            return offset + bytes.length;
        }
    }

    /** Bytes from {@code from} (clamped to what is kept), at most maxBytes; with tail, the newest tail bytes. */
    public static Chunk read(RunDir dir, Long from, Integer maxBytes, Integer tail) throws IOException {
        int max = maxBytes == null ? DEFAULT_MAX : Math.max(0, Math.min(maxBytes, LIMIT));
        for (int attempt = 0; attempt < 5; attempt++) {
            long start = dir.serialStart();
            if (tail == null && from != null && from < start) {
                Chunk head = readBoot(dir, from, max);
                if (head != null) {
                    return head;
                }
            }
            try (RandomAccessFile f = new RandomAccessFile(dir.file(RunDir.SERIAL).toFile(), "r")) {
                long len = f.length();
                long end = start + len;
                long at;
                int n;
                if (tail != null) {
                    n = (int) Math.min(Math.min(Math.max(tail, 0), LIMIT), len);
                    at = end - n;
                } else {
                    at = Math.min(Math.max(from == null ? start : from, start), end);
                    n = (int) Math.min(max, end - at);
                }
                byte[] b = new byte[n];
                f.seek(at - start);
                f.readFully(b);
                if (dir.serialStart() != start) continue; // cut under us: read again
                return new Chunk(start, at, end, b);
            } catch (NoSuchFileException | java.io.FileNotFoundException e) {
                return new Chunk(start, start, start, new byte[0]);
            } catch (java.io.EOFException e) {
                // truncated between length and read: read again
            }
        }
        throw new IOException("serial.log kept changing under the reader");
    }

    /** Bytes from serial.boot when {@code from} falls inside it; null otherwise. */
    private static Chunk readBoot(RunDir dir, long from, int max) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(dir.file(SERIAL_BOOT).toFile(), "r")) {
            long len = f.length();
            if (from < 0 || from >= len) {
                return null;
            }
            byte[] b = new byte[(int) Math.min(max, len - from)];
            f.seek(from);
            f.readFully(b);
            long logLen = java.nio.file.Files.exists(dir.file(RunDir.SERIAL)) ? java.nio.file.Files.size(dir.file(RunDir.SERIAL)) : 0;
            return new Chunk(0, from, Math.max(from + b.length, dir.serialStart() + logLen), b);
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return null;
        }
    }

    static final String SERIAL_BOOT = "serial.boot";
}
