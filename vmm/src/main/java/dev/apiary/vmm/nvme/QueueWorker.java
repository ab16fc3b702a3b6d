package dev.apiary.vmm.nvme;

import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * The device thread of one submission queue ID. A doorbell (an MMIO write on a vCPU thread, or an
 * ioeventfd callback) only {@link #ring()}s it; fetching, executing and completing commands happen here.
 * The thread lives as long as the controller and serves whichever queue currently has its ID.
 *
 * <p>Quiescing: {@link #awaitIdle} waits until the thread is between batches, so a reset, a pause or a queue
 * deletion can know that no command of the old queue is still running.
 */
final class QueueWorker implements Runnable {
    private static final System.Logger LOG = System.getLogger(QueueWorker.class.getName());

    /** What the worker runs on each ring. */
    interface Body {
        void service(int qid);
    }

    private final int qid;
    private final Body body;
    private final Thread thread;
    private final AtomicBoolean rung = new AtomicBoolean();
    private volatile boolean stopping;
    private volatile boolean held;
    private boolean busy; // guarded by this

    QueueWorker(String name, int qid, Body body) {
        this.qid = qid;
        this.body = body;
        this.thread = new Thread(this, name);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Wakes the worker (cheap, from any thread). */
    void ring() {
        rung.set(true);
        LockSupport.unpark(thread);
    }

    /** While held (a paused device), the worker takes no new batch; rings are remembered. */
    void hold(boolean hold) {
        held = hold;
        if (!hold) {
            ring();
        }
    }

    @Override
    public void run() {
        while (!stopping) {
            if (held || !rung.getAndSet(false)) {
                LockSupport.park(this);
                continue;
            }
            synchronized (this) {
                if (held) {
                    rung.set(true);
                    continue;
                }
                busy = true;
            }
            try {
                body.service(qid);
            } catch (Throwable t) {
                // A device bug must not kill the thread silently; the body already turned guest mistakes into
                // statuses, so anything here is ours.
                LOG.log(Level.ERROR, thread.getName() + ": unexpected failure", t);
            } finally {
                synchronized (this) {
                    busy = false;
                    notifyAll();
                }
            }
        }
    }

    /** Waits until the worker is between batches (and, while held, stays so); false on timeout. */
    synchronized boolean awaitIdle(long timeoutMillis) {
        if (Thread.currentThread() == thread) {
            return true;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (busy) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    boolean isCurrentThread() {
        return Thread.currentThread() == thread;
    }

    void stop() {
        stopping = true;
        LockSupport.unpark(thread);
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
