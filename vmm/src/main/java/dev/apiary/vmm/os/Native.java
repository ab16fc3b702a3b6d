package dev.apiary.vmm.os;

import com.kenai.jffi.MemoryIO;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import com.kenai.jffi.LastError;

/** The loaded libc binding and helpers around native memory. */
public final class Native {
    private static final class Holder {
        static final LibC LIBC = new JffiLibC();
    }

    private Native() {}

    public static LibC libc() {
        return Holder.LIBC;
    }

    public static int errno() {
        return LastError.getInstance().get();
    }

    public static String strerror(int errno) {
        return Holder.LIBC.strerror(errno);
    }

    /** Little-endian view of native memory, indexed absolutely from 0. */
    public static ByteBuffer buffer(long address, int length) {
        return MemoryIO.getInstance().newDirectByteBuffer(address, length).order(ByteOrder.LITTLE_ENDIAN);
    }

}
