package dev.apiary.vmm.nvme;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Asynchronous events (NVMe 1.4 §5.2): outstanding Asynchronous Event Request commands are held here until an
 * event needs reporting, and events wait here until a request is outstanding. Once an event of a type is
 * reported, further events of that type stay masked until the host reads the log page the event named
 * (Get Log Page with Retain Asynchronous Event cleared), as §5.2 requires.
 */
final class AsyncEvents {
    /** Completion dword 0 of an event: type 2:0, information 15:8, log page 23:16. */
    record Event(int type, int info, int logPage) {
        int dword0() {
            return (type & 0x7) | ((info & 0xFF) << 8) | ((logPage & 0xFF) << 16);
        }
    }

    private final int limit;
    private final Deque<Integer> requests = new ArrayDeque<>();
    private final Deque<Event> pending = new ArrayDeque<>();
    private final boolean[] maskedType = new boolean[8];

    AsyncEvents(int limit) {
        this.limit = limit;
    }

    /** Holds a request; false when the limit of outstanding requests is reached. */
    synchronized boolean hold(int cid) {
        if (requests.size() >= limit) {
            return false;
        }
        requests.addLast(cid);
        return true;
    }

    /** Queues an event (at most one pending per type and information). */
    synchronized void raise(Event e) {
        if (!pending.contains(e) && pending.size() < 16) {
            pending.addLast(e);
        }
    }

    /** Whether an event can be reported now (a request is held and an unmasked event waits). */
    synchronized boolean deliverable() {
        return !requests.isEmpty() && pending.stream().anyMatch(e -> !maskedType[e.type()]);
    }

    /** Pairs a held request with the first unmasked event and masks its type; null when none. */
    synchronized int[] take() {
        if (requests.isEmpty()) {
            return null;
        }
        for (Event e : pending) {
            if (!maskedType[e.type()]) {
                pending.remove(e);
                maskedType[e.type()] = true;
                return new int[] {requests.removeFirst(), e.dword0()};
            }
        }
        return null;
    }

    /** The host read a log page without retaining events: unmask the types that report through it. */
    synchronized void logRead(int logPage) {
        if (logPage == Opcodes.LOG_ERROR_INFORMATION) {
            maskedType[Opcodes.AE_TYPE_ERROR] = false;
        } else if (logPage == Opcodes.LOG_SMART_HEALTH) {
            maskedType[1] = false;
        }
    }

    synchronized int outstanding() {
        return requests.size();
    }

    /** Controller reset: requests are dropped without completion (§7.3.1), events forgotten. */
    synchronized void reset() {
        requests.clear();
        pending.clear();
        java.util.Arrays.fill(maskedType, false);
    }
}
