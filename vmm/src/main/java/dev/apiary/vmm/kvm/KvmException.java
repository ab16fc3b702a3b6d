package dev.apiary.vmm.kvm;

/** A KVM or system call failed. The message names the operation and the errno. */
public final class KvmException extends RuntimeException {
    private final int errno;

    public KvmException(String operation, int errno) {
        super(operation + " failed: " + Native.strerror(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }

    public KvmException(String message) {
        super(message);
        this.errno = 0;
    }

    public int errno() {
        return errno;
    }
}
