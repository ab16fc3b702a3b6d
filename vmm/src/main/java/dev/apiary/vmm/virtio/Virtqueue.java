package dev.apiary.vmm.virtio;

import static dev.apiary.vmm.virtio.VirtioRegs.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.lang.invoke.VarHandle;

/**
 * A split virtqueue (virtio 1.2 §2.7) in guest memory, seen from the device. The transport writes its
 * configuration while the queue is disabled; once enabled and the driver is running, one device thread
 * owns it: {@link #pop()} takes chains from the available ring, {@link #push} returns them through the used
 * ring, {@link #shouldInterrupt()} applies the driver's suppression (flags or used_event), and
 * {@link #enableNotifications()} / {@link #disableNotifications()} tell the driver whether to notify.
 *
 * <p>Hostile drivers: every ring access goes through {@link GuestMemory}'s checked accessors; the rings were
 * checked to lie in RAM when the queue was enabled. An available index that runs more than the queue size
 * ahead, a head or next index outside the table, a chain longer than the table (which is how loops are
 * caught), nested or malformed indirect tables throw {@link VirtqueueException}: the queue is broken and
 * the device must be reset. Problems confined to one chain are reported by {@link Chain#fault()}.
 */
public final class Virtqueue {
    /** Most descriptors in one indirect table (QEMU allows 1024; Linux never makes more than a queue's size). */
    public static final int MAX_INDIRECT = 4096;

    private final int index;
    private final GuestMemory mem;
    private final int maxSize;

    // Configuration, written by the transport under its lock while the queue is disabled.
    private volatile int size;
    private volatile int msixVector = NO_VECTOR;
    private volatile boolean enabled;
    private volatile long desc;
    private volatile long avail;
    private volatile long used;
    private volatile boolean eventIdx;
    private volatile boolean indirect;

    // Device state, owned by the device thread.
    private int lastAvail;
    private int usedIdx;
    private int signalledUsed;
    private boolean pushedSinceSignal;

    Virtqueue(int index, GuestMemory mem, int maxSize) {
        this.index = index;
        this.mem = mem;
        this.maxSize = maxSize;
        reset();
    }

    /** Power-on state (§4.1.4.3: queue_size reads the maximum until the driver writes it). */
    void reset() {
        size = maxSize;
        msixVector = NO_VECTOR;
        enabled = false;
        desc = 0;
        avail = 0;
        used = 0;
        lastAvail = 0;
        usedIdx = 0;
        signalledUsed = 0;
        pushedSinceSignal = false;
    }

    public int index() {
        return index;
    }

    public int size() {
        return size;
    }

    public int maxSize() {
        return maxSize;
    }

    public boolean enabled() {
        return enabled;
    }

    public int msixVector() {
        return msixVector;
    }

    long descAddress() {
        return desc;
    }

    long availAddress() {
        return avail;
    }

    long usedAddress() {
        return used;
    }

    void setSize(int s) {
        size = s;
    }

    void setMsixVector(int v) {
        msixVector = v;
    }

    void setDesc(long a) {
        desc = a;
    }

    void setAvail(long a) {
        avail = a;
    }

    void setUsed(long a) {
        used = a;
    }

    /** Why the current configuration cannot be enabled, or null (§2.7: sizes, alignment, rings in RAM). */
    String checkLayout() {
        int s = size;
        if (s == 0 || s > maxSize || Integer.bitCount(s) != 1) {
            return "queue " + index + ": size " + s + " is not a power of two between 1 and " + maxSize;
        }
        if ((desc & 15) != 0 || (avail & 1) != 0 || (used & 3) != 0) {
            return String.format("queue %d: misaligned rings (desc 0x%x, driver 0x%x, device 0x%x)", index, desc, avail, used);
        }
        if (!mem.isValid(desc, (long) DESC_SIZE * s) || !mem.isValid(avail, 6L + 2L * s) || !mem.isValid(used, 6L + 8L * s)) {
            return String.format("queue %d: rings outside guest RAM (desc 0x%x, driver 0x%x, device 0x%x)", index, desc, avail, used);
        }
        return null;
    }

    void enable(boolean eventIdx, boolean indirect) {
        this.eventIdx = eventIdx;
        this.indirect = indirect;
        this.enabled = true;
    }

    // ---- device side ----

    private int availIdx() throws GuestMemoryException {
        int idx = mem.read16(avail + 2) & 0xFFFF;
        VarHandle.acquireFence(); // ring entries are read after the index that published them
        return idx;
    }

    /** Whether the driver has made chains available that {@link #pop()} has not taken. */
    public boolean hasAvailable() throws VirtqueueException {
        try {
            return pending(availIdx()) != 0;
        } catch (GuestMemoryException e) {
            throw new VirtqueueException("queue " + index + ": driver ring unreadable");
        }
    }

    private int pending(int availIdx) throws VirtqueueException {
        int n = (availIdx - lastAvail) & 0xFFFF;
        if (n > size) {
            throw new VirtqueueException("queue " + index + ": available index " + availIdx + " is " + n
                    + " entries ahead of the device on a queue of " + size);
        }
        return n;
    }

    /** The next available chain, or null when the driver has made none available. */
    public Chain pop() throws VirtqueueException {
        try {
            if (pending(availIdx()) == 0) {
                return null;
            }
            int head = mem.read16(avail + 4 + 2L * (lastAvail & (size - 1))) & 0xFFFF;
            lastAvail = (lastAvail + 1) & 0xFFFF;
            return walk(head);
        } catch (GuestMemoryException e) {
            throw new VirtqueueException("queue " + index + ": ring or descriptor table unreadable: " + e.getMessage());
        }
    }

    private Chain walk(int head) throws VirtqueueException, GuestMemoryException {
        Chain c = new Chain(head);
        long table = desc;
        int tableSize = size;
        boolean inIndirect = false;
        int i = head;
        int visited = 0;
        while (true) {
            if (i >= tableSize) {
                throw new VirtqueueException("queue " + index + ": descriptor index " + i + " outside a table of " + tableSize);
            }
            if (++visited > tableSize) {
                throw new VirtqueueException("queue " + index + ": descriptor chain from " + head
                        + " is longer than its table of " + tableSize + " (a loop)");
            }
            long d = table + (long) DESC_SIZE * i;
            long addr = mem.read64(d);
            long len = mem.read32(d + 8) & 0xFFFF_FFFFL;
            int flags = mem.read16(d + 12) & 0xFFFF;
            int next = mem.read16(d + 14) & 0xFFFF;
            if ((flags & DESC_F_INDIRECT) != 0) {
                // §2.7.5.3: only with the feature, never nested, never with NEXT, a whole number of entries.
                if (!indirect || inIndirect || (flags & DESC_F_NEXT) != 0 || len == 0 || len % DESC_SIZE != 0
                        || len / DESC_SIZE > MAX_INDIRECT || !mem.isValid(addr, len)) {
                    throw new VirtqueueException(String.format("queue %d: bad indirect descriptor (table 0x%x+0x%x, flags 0x%x%s)",
                            index, addr, len, flags, inIndirect ? ", nested" : ""));
                }
                table = addr;
                tableSize = (int) (len / DESC_SIZE);
                inIndirect = true;
                i = 0;
                visited = 0;
                continue;
            }
            c.add(mem, addr, len, (flags & DESC_F_WRITE) != 0);
            if ((flags & DESC_F_NEXT) == 0) {
                return c;
            }
            i = next;
        }
    }

    /** Returns a chain to the driver with {@code written} bytes written into its writable buffers. */
    public void push(Chain c, int written) throws VirtqueueException {
        stage(c, written);
        publish();
    }

    /**
     * Writes a used element without publishing it: several staged chains become visible to the driver at
     * once with {@link #publish()} (a mergeable receive buffer's chains must appear together).
     */
    public void stage(Chain c, int written) throws VirtqueueException {
        try {
            long e = used + 4 + 8L * (usedIdx & (size - 1));
            mem.write32(e, c.head());
            mem.write32(e + 4, written);
            usedIdx = (usedIdx + 1) & 0xFFFF;
        } catch (GuestMemoryException ex) {
            throw new VirtqueueException("queue " + index + ": device ring unwritable");
        }
    }

    /** Publishes the staged used elements by writing used.idx. */
    public void publish() throws VirtqueueException {
        try {
            VarHandle.releaseFence(); // the elements before the index that publishes them (§2.7.8)
            mem.write16(used + 2, (short) usedIdx);
            pushedSinceSignal = true;
        } catch (GuestMemoryException ex) {
            throw new VirtqueueException("queue " + index + ": device ring unwritable");
        }
    }

    /**
     * Whether the driver wants an interrupt for what was pushed since the last call (§2.7.7.2: used_event with
     * EVENT_IDX, the NO_INTERRUPT flag without).
     */
    public boolean shouldInterrupt() throws VirtqueueException {
        if (!pushedSinceSignal) {
            return false;
        }
        pushedSinceSignal = false;
        VarHandle.fullFence(); // our used index store before the driver's suppression field is read
        try {
            if (eventIdx) {
                int usedEvent = mem.read16(avail + 4 + 2L * size) & 0xFFFF;
                int old = signalledUsed;
                signalledUsed = usedIdx;
                return ((usedIdx - usedEvent - 1) & 0xFFFF) < ((usedIdx - old) & 0xFFFF);
            }
            return (mem.read16(avail) & AVAIL_F_NO_INTERRUPT) == 0;
        } catch (GuestMemoryException e) {
            throw new VirtqueueException("queue " + index + ": driver ring unreadable");
        }
    }

    /**
     * Asks the driver to notify on the next available chain (avail_event with EVENT_IDX, clearing
     * NO_NOTIFY without). Callers check {@link #hasAvailable()} afterwards: a chain made available just before
     * would otherwise wait for the next notify.
     */
    public void enableNotifications() throws VirtqueueException {
        try {
            if (eventIdx) {
                mem.write16(used + 4 + 8L * size, (short) lastAvail);
            } else {
                mem.write16(used, (short) 0);
            }
            VarHandle.fullFence();
        } catch (GuestMemoryException e) {
            throw new VirtqueueException("queue " + index + ": device ring unwritable");
        }
    }

    /** Tells the driver that notifications are not needed while the device is busy with this queue. */
    public void disableNotifications() throws VirtqueueException {
        if (eventIdx) {
            return; // avail_event stays behind: the driver does not notify until it passes it
        }
        try {
            mem.write16(used, (short) USED_F_NO_NOTIFY);
        } catch (GuestMemoryException e) {
            throw new VirtqueueException("queue " + index + ": device ring unwritable");
        }
    }
}
