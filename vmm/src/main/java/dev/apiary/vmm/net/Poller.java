package dev.apiary.vmm.net;

import dev.apiary.vmm.os.EventFd;
import dev.apiary.vmm.os.LibC;
import dev.apiary.vmm.os.Native;
import dev.apiary.vmm.os.NativeStruct;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Where a device thread sleeps: poll(2) on an eventfd that {@link #wake()} signals and, when asked, a
 * backend's descriptor. A wake costs a write(2) only while the thread sleeps or is about to; otherwise it
 * is a flag the thread sees before it sleeps again.
 */
final class Poller implements AutoCloseable {
    /** Bounds a sleep, so that a thread looks at its flags at least once a second whatever happens. */
    private static final int TIMEOUT_MS = 1000;

    private final int backendFd;
    private final EventFd wakeFd = new EventFd(true);
    private final NativeStruct fds = new NativeStruct(16);
    private final NativeStruct probe = new NativeStruct(8);
    private final AtomicBoolean woken = new AtomicBoolean();
    private volatile boolean sleeping;

    Poller(int backendFd) {
        this.backendFd = backendFd;
    }

    void wake() {
        woken.set(true);
        if (sleeping) {
            wakeFd.signal();
        }
    }

    /** Sleeps until woken, or (when {@code backendReadable}) until the backend has input. */
    void await(boolean backendReadable) {
        sleeping = true;
        if (!woken.getAndSet(false)) {
            fds.buf().putInt(0, wakeFd.fd());
            fds.buf().putShort(4, LibC.POLLIN);
            fds.buf().putShort(6, (short) 0);
            fds.buf().putInt(8, backendReadable ? backendFd : -1);
            fds.buf().putShort(12, LibC.POLLIN);
            fds.buf().putShort(14, (short) 0);
            Native.libc().poll(fds.address(), 2, TIMEOUT_MS);
            if ((fds.buf().getShort(6) & LibC.POLLIN) != 0) {
                wakeFd.await(); // non-blocking: resets the counter
            }
            woken.set(false);
        }
        sleeping = false;
    }

    /** Whether the backend has input now (a poll that does not wait). */
    boolean backendReadable() {
        probe.buf().putInt(0, backendFd);
        probe.buf().putShort(4, LibC.POLLIN);
        probe.buf().putShort(6, (short) 0);
        return Native.libc().poll(probe.address(), 1, 0) > 0 && (probe.buf().getShort(6) & LibC.POLLIN) != 0;
    }

    @Override
    public void close() {
        wakeFd.close();
    }
}
