package dev.apiary.vmm.control;

import dev.apiary.vmm.machine.SerialConsole;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * COM1's output history in the runtime directory, so it survives the agent and covers both the whole boot
 * and the latest output: {@code serial.boot} keeps the first bytes the guest ever printed (half the history
 * size) for good, {@code serial.log} the newest. Bytes are buffered and flushed every 20 ms (and at close) by
 * a small thread, so vCPU threads never wait on the disk. When {@code serial.log} passes twice the history
 * size its oldest bytes are cut and {@code serial.offset} records the absolute offset of the first byte kept.
 */
public final class SerialHistory implements SerialConsole.Listener, AutoCloseable {
    private static final long FLUSH_MILLIS = 20;

    private final RuntimeDir dir;
    private final long historyBytes;
    private final Object lock = new Object();
    private byte[] pending = new byte[8192];
    private int pendingLen;
    private long fileLen;
    private long baseOffset;
    private FileChannel out;
    private FileChannel boot;
    private final long bootBytes;
    private long bootLen;
    private final Thread flusher;
    private volatile boolean closed;
    private volatile long firstByteNanos;

    public SerialHistory(RuntimeDir dir, long historyBytes) throws IOException {
        this.dir = dir;
        this.historyBytes = Math.max(historyBytes, 4096);
        this.out = FileChannel.open(dir.serialLog(), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        Files.deleteIfExists(dir.serialOffset());
        this.bootBytes = this.historyBytes / 2;
        this.boot = FileChannel.open(dir.serialBoot(), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        flusher = new Thread(this::flushLoop, "serial-history");
        flusher.setDaemon(true);
        flusher.start();
    }

    /** System.nanoTime() of the guest's first byte, or 0 if it has printed nothing yet. */
    public long firstByteNanos() {
        return firstByteNanos;
    }

    @Override
    public void output(byte[] b, int off, int len) {
        if (firstByteNanos == 0) {
            firstByteNanos = System.nanoTime();
        }
        synchronized (lock) {
            if (pendingLen + len > pending.length) {
                byte[] bigger = new byte[Math.max(pending.length * 2, pendingLen + len)];
                System.arraycopy(pending, 0, bigger, 0, pendingLen);
                pending = bigger;
            }
            System.arraycopy(b, off, pending, pendingLen, len);
            pendingLen += len;
        }
    }

    private void flushLoop() {
        while (!closed) {
            try {
                Thread.sleep(FLUSH_MILLIS);
                flush();
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                // A full disk must not stop the VM; output is kept in memory until the next try.
            }
        }
    }

    public void flush() throws IOException {
        byte[] chunk;
        synchronized (lock) {
            if (pendingLen == 0) {
                return;
            }
            chunk = java.util.Arrays.copyOf(pending, pendingLen);
            pendingLen = 0;
        }
        synchronized (this) {
            if (bootLen < bootBytes) {
                ByteBuffer head = ByteBuffer.wrap(chunk, 0, (int) Math.min(chunk.length, bootBytes - bootLen));
                bootLen += head.remaining();
                while (head.hasRemaining()) {
                    boot.write(head);
                }
            }
            ByteBuffer buf = ByteBuffer.wrap(chunk);
            while (buf.hasRemaining()) {
                out.write(buf);
            }
            fileLen += chunk.length;
            if (fileLen > 2 * historyBytes) {
                trim();
            }
        }
    }

    /** Keeps the newest {@code historyBytes}: copy them to a new file, record the offset, rename over. */
    private void trim() throws IOException {
        long drop = fileLen - historyBytes;
        Path tmp = dir.dir().resolve(".serial.log.tmp");
        try (RandomAccessFile src = new RandomAccessFile(dir.serialLog().toFile(), "r");
             FileChannel dst = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            src.getChannel().transferTo(drop, historyBytes, dst);
        }
        baseOffset += drop;
        RuntimeDir.writeAtomically(dir.serialOffset(), Long.toString(baseOffset).getBytes(StandardCharsets.US_ASCII));
        Files.move(tmp, dir.serialLog(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        out.close();
        out = FileChannel.open(dir.serialLog(), StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        fileLen = historyBytes;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        flusher.interrupt();
        flush();
        synchronized (this) {
            out.close();
            boot.close();
        }
    }
}
