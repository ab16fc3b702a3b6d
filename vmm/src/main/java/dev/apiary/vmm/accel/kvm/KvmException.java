package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.os.Native;
import dev.apiary.vmm.os.NativeException;

/** A KVM ioctl failed. The message names the operation and the errno. */
public final class KvmException extends NativeException {
    public KvmException(String operation, int errno) {
        super(operation, errno);
    }

    public KvmException(String message) {
        super(message);
    }

    /** An ioctl returning a non-negative value, or a {@link KvmException}. */
    static int ioctl(int fd, long request, long arg, String what) {
        int r = Native.libc().ioctl(fd, request, arg);
        if (r < 0) {
            throw new KvmException(what, Native.errno());
        }
        return r;
    }
}
