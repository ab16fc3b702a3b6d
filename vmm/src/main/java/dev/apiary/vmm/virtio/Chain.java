package dev.apiary.vmm.virtio;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import dev.apiary.vmm.os.IoVec;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One descriptor chain taken from the available ring: its head index and its buffers in order, the
 * device-readable ones first and then the device-writable ones (virtio 1.2 §2.7.4.2). A chain whose buffers
 * break a rule that concerns only this request (a buffer outside guest RAM, a readable buffer after a writable
 * one) is {@link #fault() faulty}: the device returns it unused and counts it, and the queue goes on.
 */
public final class Chain {
    private final int head;
    private long[] addr = new long[8];
    private long[] len = new long[8];
    private int count;
    private int readable;
    private long readableBytes;
    private long writableBytes;
    private String fault;

    Chain(int head) {
        this.head = head;
    }

    void add(GuestMemory mem, long address, long length, boolean write) {
        if (count == addr.length) {
            addr = Arrays.copyOf(addr, count * 2);
            len = Arrays.copyOf(len, count * 2);
        }
        if (!write && count > readable && fault == null) {
            fault = "a device-readable buffer after a device-writable one";
        }
        if (fault == null && !mem.isValid(address, length)) {
            fault = String.format("buffer 0x%x+0x%x is outside guest RAM", address, length);
        }
        addr[count] = address;
        len[count] = length;
        count++;
        if (write) {
            writableBytes += length;
        } else {
            readable++;
            readableBytes += length;
        }
    }

    /** The head descriptor index, what goes into the used ring. */
    public int head() {
        return head;
    }

    /** Why the chain cannot be used, or null. */
    public String fault() {
        return fault;
    }

    public long readableBytes() {
        return readableBytes;
    }

    public long writableBytes() {
        return writableBytes;
    }

    public int buffers() {
        return count;
    }

    /**
     * Copies up to {@code dst.remaining()} device-readable bytes, starting {@code skip} bytes into them, into
     * {@code dst}; returns how many. Only for a chain without a fault (every buffer was checked against RAM).
     */
    public int gather(GuestMemory mem, long skip, ByteBuffer dst) throws GuestMemoryException {
        int copied = 0;
        for (int i = 0; i < readable && dst.hasRemaining(); i++) {
            long a = addr[i];
            long l = len[i];
            if (skip >= l) {
                skip -= l;
                continue;
            }
            a += skip;
            l -= skip;
            skip = 0;
            while (l > 0 && dst.hasRemaining()) {
                int n = mem.maxContiguous(a, (int) Math.min(l, dst.remaining()));
                dst.put(mem.slice(a, n));
                a += n;
                l -= n;
                copied += n;
            }
        }
        return copied;
    }

    /**
     * Appends to {@code iov} where the device-readable bytes {@code [skip, skip+max)} live in this process, so
     * that they go to a host descriptor without a copy (writev). Only for a chain without a fault. Returns the
     * bytes appended, or -1 when {@code iov} ran out of entries (then it holds a part).
     */
    public long readableInto(GuestMemory mem, IoVec iov, long skip, long max) throws GuestMemoryException {
        return into(mem, iov, 0, readable, skip, max, false);
    }

    /**
     * Appends to {@code iov} where the device-writable bytes {@code [skip, skip+max)} live, for a readv straight
     * into guest buffers; those bytes are reported to guest memory's write observer. Only for a chain without a
     * fault. Returns the bytes appended, or -1 when {@code iov} ran out of entries.
     */
    public long writableInto(GuestMemory mem, IoVec iov, long skip, long max) throws GuestMemoryException {
        return into(mem, iov, readable, count, skip, max, true);
    }

    private long into(GuestMemory mem, IoVec iov, int from, int to, long skip, long max, boolean write)
            throws GuestMemoryException {
        long added = 0;
        for (int i = from; i < to && added < max; i++) {
            long a = addr[i];
            long l = len[i];
            if (skip >= l) {
                skip -= l;
                continue;
            }
            a += skip;
            l = Math.min(l - skip, max - added);
            skip = 0;
            while (l > 0) {
                int n = mem.maxContiguous(a, (int) Math.min(l, Integer.MAX_VALUE));
                if (!iov.add(mem.hostAddress(a, n, write), n)) {
                    return -1;
                }
                a += n;
                l -= n;
                added += n;
            }
        }
        return added;
    }

    /**
     * Reads back device-writable bytes (what the device put there) from {@code skip} on into
     * {@code dst[off, off+n)}; how many were there. Only for a chain without a fault.
     */
    public int peekWritable(GuestMemory mem, long skip, byte[] dst, int off, int n) throws GuestMemoryException {
        return peek(mem, readable, count, skip, dst, off, n);
    }

    /** Copies device-readable bytes from {@code skip} on into {@code dst[0, n)}; how many there were. */
    public int peekReadable(GuestMemory mem, long skip, byte[] dst, int n) throws GuestMemoryException {
        return peek(mem, 0, readable, skip, dst, 0, n);
    }

    private int peek(GuestMemory mem, int from, int to, long skip, byte[] dst, int off, int n)
            throws GuestMemoryException {
        int copied = 0;
        for (int i = from; i < to && copied < n; i++) {
            long l = len[i];
            if (skip >= l) {
                skip -= l;
                continue;
            }
            int k = (int) Math.min(l - skip, n - copied);
            mem.read(addr[i] + skip, dst, off + copied, k);
            copied += k;
            skip = 0;
        }
        return copied;
    }

    /**
     * Copies {@code src}'s remaining bytes into the device-writable buffers from {@code offset} bytes into them
     * on; returns how many fitted.
     */
    public int scatter(GuestMemory mem, long offset, ByteBuffer src) throws GuestMemoryException {
        int copied = 0;
        for (int i = readable; i < count && src.hasRemaining(); i++) {
            long a = addr[i];
            long l = len[i];
            if (offset >= l) {
                offset -= l;
                continue;
            }
            a += offset;
            l -= offset;
            offset = 0;
            while (l > 0 && src.hasRemaining()) {
                int n = mem.maxContiguous(a, (int) Math.min(l, src.remaining()));
                ByteBuffer part = src.slice(src.position(), n);
                mem.slice(a, n).put(part);
                src.position(src.position() + n);
                a += n;
                l -= n;
                copied += n;
            }
        }
        return copied;
    }
}
