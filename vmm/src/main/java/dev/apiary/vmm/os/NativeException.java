package dev.apiary.vmm.os;

/** A system call failed. The message names the operation and the errno. */
public class NativeException extends RuntimeException {
    private final int errno;

    public NativeException(String operation, int errno) {
        super(operation + " failed: " + Native.strerror(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }

    public NativeException(String message) {
        super(message);
        this.errno = 0;
    }

    public int errno() {
        return errno;
    }
}
