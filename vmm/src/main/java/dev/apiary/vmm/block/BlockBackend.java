package dev.apiary.vmm.block;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A disk image addressed in bytes. Reads and writes move data between the image and a buffer (typically a
 * view of guest RAM, so nothing is copied in between); they may run concurrently from several device threads
 * on disjoint or overlapping ranges, with no ordering promised between concurrent calls.
 *
 * <p>Durability: a write is in the host's page cache when it returns; {@link #flush()} returns once every
 * write that returned before it was called is on stable storage.
 */
public interface BlockBackend extends Closeable {
    /** Size of the image in bytes (fixed while the VM runs). */
    long size();

    /** Whether the image was opened read-only; then every modifying call fails. */
    boolean readOnly();

    /** Fills {@code dst} (position to limit) with the bytes at {@code offset}; bytes past the end read as 0. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** Writes {@code src} (position to limit) at {@code offset}. */
    void write(long offset, ByteBuffer src) throws IOException;

    /** Puts every completed write on stable storage (fdatasync). */
    void flush() throws IOException;

    /** Makes {@code [offset, offset+length)} read as zeroes; the space stays allocated. */
    void writeZeroes(long offset, long length) throws IOException;

    /**
     * Makes {@code [offset, offset+length)} read as zeroes and releases its space where the file system can
     * (a hole); returns true when space was released, false when zeroes had to be written instead.
     */
    boolean discard(long offset, long length) throws IOException;

    /** A short description for logs (the file name). */
    String describe();
}
