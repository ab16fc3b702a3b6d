package dev.apiary.vmm.virtio;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.nio.ByteBuffer;

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
            addr = java.util.Arrays.copyOf(addr, count * 2);
            len = java.util.Arrays.copyOf(len, count * 2);
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
