package dev.apiary.vmm.nvme;

/**
 * A submission queue: a ring of 64-byte commands in guest memory (physically contiguous, CAP.CQR). The
 * guest moves the tail (doorbell, or the shadow doorbell when Doorbell Buffer Config is in use); the queue's
 * worker thread moves the head as it fetches.
 */
final class SubmissionQueue {
    final int id;
    final long base;
    final int size;
    final CompletionQueue cq;

    /** Next entry to fetch; only the worker thread touches it. */
    int head;
    /** Last tail the guest rang with a value (MMIO doorbell). */
    volatile int tail;
    /** Cleared when the queue is deleted or the controller resets: the worker stops fetching. */
    volatile boolean alive = true;
    /** Guest address of this queue's shadow doorbell and EventIdx (NVMe 1.4 §5.7), or -1. */
    volatile long shadowDoorbell = -1;
    volatile long eventIdx = -1;

    SubmissionQueue(int id, long base, int size, CompletionQueue cq) {
        this.id = id;
        this.base = base;
        this.size = size;
        this.cq = cq;
    }

    long entryAddress(int index) {
        return base + (long) index * NvmeRegs.SQ_ENTRY_SIZE;
    }
}
