package dev.apiary.vmm.machine;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * COM1 as the machine's console: guest output fans out to listeners (terminal, serial socket, history
 * file), and input is pushed into the UART's receive FIFO with backpressure, so nothing typed or pasted is
 * lost when the guest reads slowly.
 */
public final class SerialConsole {
    /** Receives guest output; called on a vCPU thread, so it must be quick and must not throw. */
    @FunctionalInterface
    public interface Listener {
        void output(byte[] b, int off, int len);
    }

    /** The UART side: accepts what fits into its receive FIFO. */
    public interface Receiver {
        int receive(byte[] b, int off, int len);
    }

    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final Object drained = new Object();
    private volatile Receiver receiver;
    private volatile boolean closed;

    void connect(Receiver r) {
        this.receiver = r;
    }

    public void addListener(Listener l) {
        listeners.add(l);
    }

    public void removeListener(Listener l) {
        listeners.remove(l);
    }

    /** Called by the UART for every transmitted byte. */
    void transmit(int b) {
        byte[] one = {(byte) b};
        for (Listener l : listeners) {
            try {
                l.output(one, 0, 1);
            } catch (RuntimeException e) {
                // A broken listener must not take the vCPU down; drop it.
                listeners.remove(l);
            }
        }
    }

    /** The UART's receive FIFO has room again. */
    void drained() {
        synchronized (drained) {
            drained.notifyAll();
        }
    }

    /** Feeds bytes to the guest, waiting while its FIFO is full; returns early only when the machine stops. */
    public void input(byte[] b) {
        int off = 0;
        while (off < b.length && !closed) {
            Receiver r = receiver;
            int n = r == null ? 0 : r.receive(b, off, b.length - off);
            off += n;
            if (off < b.length) {
                synchronized (drained) {
                    try {
                        drained.wait(50);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    void close() {
        closed = true;
        drained();
    }
}
