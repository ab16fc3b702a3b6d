package dev.apiary.vmm.os;

import java.nio.ByteBuffer;

/**
 * An array of {@code struct iovec} (base, length: 16 bytes each) in native memory, for readv/writev/sendmsg:
 * where the bytes of one frame go or come from, so that a device moves them between a host descriptor and
 * guest RAM without a buffer of its own in between. Owned by one thread and reused; adding allocates nothing.
 */
public final class IoVec {
    /** The kernel's limit on entries per call (UIO_MAXIOV). */
    public static final int MAX_ENTRIES = 1024;
    private static final int ENTRY = 16;

    private final NativeStruct array;
    private final ByteBuffer b;
    private final int capacity;
    private int limit;
    private int count;
    private long bytes;

    public IoVec(int capacity) {
        if (capacity < 1 || capacity > MAX_ENTRIES) {
            throw new IllegalArgumentException("1 to " + MAX_ENTRIES + " entries, got " + capacity);
        }
        this.capacity = capacity;
        this.limit = capacity;
        this.array = new NativeStruct(capacity * ENTRY);
        this.b = array.buf();
    }

    public IoVec clear() {
        count = 0;
        bytes = 0;
        limit = capacity;
        return this;
    }

    /** Lets {@link #add} fill only the first {@code n} entries (the rest kept for what must follow). */
    public IoVec limit(int n) {
        limit = Math.max(count, Math.min(n, capacity));
        return this;
    }

    /** Appends {@code length} bytes at {@code address}; false (and nothing appended) when full. Empty ranges are skipped. */
    public boolean add(long address, long length) {
        if (length == 0) {
            return true;
        }
        if (count >= limit) {
            return false;
        }
        b.putLong(count * ENTRY, address);
        b.putLong(count * ENTRY + 8, length);
        count++;
        bytes += length;
        return true;
    }

    /** Appends the entries of {@code src} after its first {@code skip} bytes; false when they do not all fit. */
    public boolean addFrom(IoVec src, long skip) {
        for (int i = 0; i < src.count; i++) {
            long base = src.base(i);
            long len = src.length(i);
            if (skip >= len) {
                skip -= len;
                continue;
            }
            if (!add(base + skip, len - skip)) {
                return false;
            }
            skip = 0;
        }
        return true;
    }

    /** Address of the array, for the system call. */
    public long address() {
        return array.address();
    }

    public int count() {
        return count;
    }

    /** Total bytes the entries cover. */
    public long bytes() {
        return bytes;
    }

    public int capacity() {
        return capacity;
    }

    public long base(int i) {
        return b.getLong(i * ENTRY);
    }

    public long length(int i) {
        return b.getLong(i * ENTRY + 8);
    }
}
