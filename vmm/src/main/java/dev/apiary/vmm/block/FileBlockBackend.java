package dev.apiary.vmm.block;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A raw image file. Data moves with positional {@link FileChannel} reads and writes between the file and
 * the caller's buffer (a direct view of guest RAM), so there is no copy in Java and no shared file position:
 * device threads use the backend concurrently. {@link #flush()} is {@code fdatasync} ({@code force(false)}):
 * file data and the metadata needed to read it back, which is what a guest's Flush asks for.
 *
 * <p>Discard punches a hole ({@code fallocate(PUNCH_HOLE | KEEP_SIZE)}); where the file system refuses
 * (EOPNOTSUPP, or no native access) it writes zeroes instead and says so once in the log. Write Zeroes uses
 * {@code fallocate(ZERO_RANGE | KEEP_SIZE)} with the same fallback.
 */
public final class FileBlockBackend implements BlockBackend {
    private static final System.Logger LOG = System.getLogger(FileBlockBackend.class.getName());
    private static final int ZERO_CHUNK = 1 << 20;
    private static final int EOPNOTSUPP = 95;

    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;
    private final long size;
    /** A second descriptor for fallocate, or -1 (read-only images, no native access). */
    private final int fd;
    private volatile boolean punchUnsupported;
    private volatile boolean zeroRangeUnsupported;

    private FileBlockBackend(Path path, FileChannel channel, boolean readOnly, int fd) throws IOException {
        this.path = path;
        this.channel = channel;
        this.readOnly = readOnly;
        this.size = channel.size();
        this.fd = fd;
    }

    /** Opens an existing image; {@code readOnly} opens it without write access. */
    public static FileBlockBackend open(Path path, boolean readOnly) throws IOException {
        FileChannel ch = readOnly
                ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        int fd = -1;
        if (!readOnly) {
            try {
                fd = Fallocate.open(path.toAbsolutePath().toString());
            } catch (Throwable t) {
                fd = -1;
            }
        }
        try {
            return new FileBlockBackend(path, ch, readOnly, fd);
        } catch (IOException e) {
            ch.close();
            Fallocate.close(fd);
            throw e;
        }
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public String describe() {
        return path.toString();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        long at = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, at);
            if (n < 0) {
                // The file shrank under us (someone else truncated it): what is gone reads as zeroes.
                while (dst.hasRemaining()) {
                    dst.put((byte) 0);
                }
                return;
            }
            at += n;
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        checkWritable();
        long at = offset;
        while (src.hasRemaining()) {
            at += channel.write(src, at);
        }
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) {
            channel.force(false);
        }
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        checkWritable();
        if (length <= 0) {
            return;
        }
        if (!zeroRangeUnsupported) {
            int err = Fallocate.fallocate(fd, Fallocate.FALLOC_FL_ZERO_RANGE | Fallocate.FALLOC_FL_KEEP_SIZE, offset, length);
            if (err == 0) {
                return;
            }
            if (err == EOPNOTSUPP) {
                zeroRangeUnsupported = true;
            } else {
                LOG.log(Level.DEBUG, () -> path + ": fallocate(ZERO_RANGE) failed with errno " + err + "; writing zeroes");
            }
        }
        writeZeroBytes(offset, length);
    }

    @Override
    public boolean discard(long offset, long length) throws IOException {
        checkWritable();
        if (length <= 0) {
            return true;
        }
        if (!punchUnsupported) {
            int err = Fallocate.fallocate(fd, Fallocate.FALLOC_FL_PUNCH_HOLE | Fallocate.FALLOC_FL_KEEP_SIZE, offset, length);
            if (err == 0) {
                return true;
            }
            if (err == EOPNOTSUPP) {
                punchUnsupported = true;
                LOG.log(Level.INFO, () -> path + ": the file system cannot punch holes; discards write zeroes");
            } else {
                LOG.log(Level.DEBUG, () -> path + ": fallocate(PUNCH_HOLE) failed with errno " + err + "; writing zeroes");
            }
        }
        writeZeroBytes(offset, length);
        return false;
    }

    private void writeZeroBytes(long offset, long length) throws IOException {
        // Never grow the image: zeroing past its end is a no-op, like a hole past EOF.
        long end = Math.min(offset + length, size);
        ByteBuffer zeroes = ByteBuffer.allocateDirect((int) Math.min(ZERO_CHUNK, Math.max(0, end - offset)));
        for (long at = offset; at < end; ) {
            zeroes.clear().limit((int) Math.min(zeroes.capacity(), end - at));
            while (zeroes.hasRemaining()) {
                at += channel.write(zeroes, at);
            }
        }
    }

    private void checkWritable() throws IOException {
        if (readOnly) {
            throw new IOException(path + " is read-only");
        }
    }

    @Override
    public void close() throws IOException {
        Fallocate.close(fd);
        channel.close();
    }
}
