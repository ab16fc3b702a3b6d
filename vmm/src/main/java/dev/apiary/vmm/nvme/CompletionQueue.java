package dev.apiary.vmm.nvme;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A completion queue: a ring of 16-byte entries in guest memory with a phase tag that flips on every wrap
 * (NVMe 1.4 §4.6). Several submission queues may post to it, each from its own worker thread, so the ring
 * state is guarded by this object. A worker reserves a slot before it fetches a command, so a fetched
 * command always has somewhere to complete and the queue never overflows (a full queue stops fetching until
 * the guest moves the head).
 */
final class CompletionQueue {
    final int id;
    final long base;
    final int size;
    final int vector;
    final boolean interruptsEnabled;
    /** The submission queues that post here (for waking their workers when the head moves). */
    final List<SubmissionQueue> submissionQueues = new CopyOnWriteArrayList<>();

    private int tail;
    private int head;
    private int reserved;
    private boolean phase = true;
    volatile boolean alive = true;
    volatile long shadowDoorbell = -1;
    volatile long eventIdx = -1;

    CompletionQueue(int id, long base, int size, int vector, boolean interruptsEnabled) {
        this.id = id;
        this.base = base;
        this.size = size;
        this.vector = vector;
        this.interruptsEnabled = interruptsEnabled;
    }

    private int used() {
        return Math.floorMod(tail - head, size);
    }

    /** Claims a slot for a command about to be fetched; false when the queue is full. */
    synchronized boolean reserve() {
        if (used() + reserved >= size - 1) {
            return false;
        }
        reserved++;
        return true;
    }

    /** Gives back a slot a command did not use (it is held, like an Asynchronous Event Request). */
    synchronized void release() {
        if (reserved > 0) {
            reserved--;
        }
    }

    /**
     * Writes a completion entry into a reserved slot: dwords 0–2 first, then dword 3 with the phase tag, so a
     * guest that sees the new phase sees the whole entry. Returns false when the queue is gone (reset or
     * deleted while the command ran): the completion is dropped.
     */
    synchronized boolean post(GuestMemory mem, int result, int sqId, int sqHead, int cid, int status) throws GuestMemoryException {
        if (reserved > 0) {
            reserved--;
        }
        if (!alive) {
            return false;
        }
        long at = base + (long) tail * NvmeRegs.CQ_ENTRY_SIZE;
        mem.write32(at, result);
        mem.write32(at + 4, 0);
        mem.write32(at + 8, (sqHead & 0xFFFF) | (sqId << 16));
        VarHandle.releaseFence();
        mem.write32(at + 12, (cid & 0xFFFF) | (phase ? 1 << 16 : 0) | ((status & 0x7FFF) << 17));
        tail++;
        if (tail == size) {
            tail = 0;
            phase = !phase;
        }
        return true;
    }

    /**
     * The guest consumed entries up to {@code newHead}. Valid when it lies between the current head and the
     * tail (inclusive): a head beyond the tail would acknowledge entries never posted.
     */
    synchronized boolean setHead(int newHead) {
        if (newHead < 0 || newHead >= size || Math.floorMod(newHead - head, size) > used()) {
            return false;
        }
        head = newHead;
        return true;
    }

    synchronized int head() {
        return head;
    }

    /** Entries posted and not yet consumed (what pin-based interrupts report). */
    synchronized boolean hasPending() {
        return tail != head;
    }

    synchronized boolean isFull() {
        return used() + reserved >= size - 1;
    }
}
