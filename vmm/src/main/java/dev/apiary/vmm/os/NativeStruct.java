package dev.apiary.vmm.os;

import com.kenai.jffi.MemoryIO;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;

/**
 * A zeroed block of native memory for passing a kernel struct by address, with a little-endian buffer over
 * it. Owners keep one per struct kind and reuse it, so ioctls on hot paths allocate nothing.
 */
public final class NativeStruct {
    private static final Cleaner CLEANER = Cleaner.create();

    private final long address;
    private final int size;
    private final ByteBuffer buf;

    public NativeStruct(int size) {
        this.size = size;
        this.address = MemoryIO.getInstance().allocateMemory(Math.max(size, 8), true);
        if (address == 0) {
            throw new OutOfMemoryError("native allocation of " + size + " bytes");
        }
        this.buf = Native.buffer(address, size);
        long a = address;
        CLEANER.register(this, () -> MemoryIO.getInstance().freeMemory(a));
    }

    public long address() {
        return address;
    }

    public int size() {
        return size;
    }

    public ByteBuffer buf() {
        return buf;
    }

    public NativeStruct clear() {
        MemoryIO.getInstance().setMemory(address, size, (byte) 0);
        return this;
    }

    public byte[] bytes() {
        byte[] b = new byte[size];
        buf.get(0, b);
        return b;
    }

    public void setBytes(byte[] b) {
        buf.put(0, b);
    }
}
