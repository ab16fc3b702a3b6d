package dev.apiary.vmm.os;

/** A Linux eventfd: the doorbell and interrupt wire between KVM and device threads. */
public final class EventFd implements AutoCloseable {
    private final int fd;
    private final NativeStruct writeWord = new NativeStruct(8);
    private final NativeStruct readWord = new NativeStruct(8);

    public EventFd(boolean nonBlocking) {
        int flags = LibC.EFD_CLOEXEC | (nonBlocking ? LibC.EFD_NONBLOCK : 0);
        this.fd = Native.libc().eventfd(0, flags);
        if (fd < 0) {
            throw new NativeException("eventfd", Native.errno());
        }
    }

    public int fd() {
        return fd;
    }

    /** Adds 1 to the counter (wakes a reader, or raises an irqfd's GSI). */
    public void signal() {
        synchronized (writeWord) {
            writeWord.buf().putLong(0, 1);
            Native.libc().write(fd, writeWord.address(), 8);
        }
    }

    /** Blocks until the counter is non-zero (unless non-blocking), returns it and resets it; 0 if none. */
    public long await() {
        synchronized (readWord) {
            long r = Native.libc().read(fd, readWord.address(), 8);
            return r == 8 ? readWord.buf().getLong(0) : 0;
        }
    }

    @Override
    public void close() {
        Native.libc().close(fd);
    }
}
