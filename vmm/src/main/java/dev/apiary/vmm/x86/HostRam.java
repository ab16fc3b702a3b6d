package dev.apiary.vmm.x86;

import java.lang.invoke.VarHandle;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import sun.misc.Unsafe;

/**
 * Loads and stores on guest RAM by host address, for the TLB's fast path (Mmu, translated blocks): a
 * {@code ByteBuffer} access costs a bounds and scope check per guest access, which the TLB has already done
 * once per page. The host address of a page comes only from {@link Mmu}'s fill, for a page that lies wholly in
 * a direct RAM chunk; every caller first checks that the access stays inside that page. Nothing else here
 * takes an address, so a guest cannot name host memory.
 *
 * <p>TSO (docs/software-cpu.md, "Memory ordering"): a load is followed by an acquire fence and a store
 * preceded by a release fence, which on an x86 host are compiler barriers only; the JIT then keeps the guest's
 * load→load, load→store and store→store order.
 */
final class HostRam {
    private HostRam() {}

    private static final Unsafe U;
    private static final long ADDRESS;

    static {
        try {
            Field f = Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            U = (Unsafe) f.get(null);
            ADDRESS = U.objectFieldOffset(Buffer.class.getDeclaredField("address"));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The host address of a direct buffer's index 0, or 0 for a heap buffer (which then never takes the fast path). */
    static long address(ByteBuffer b) {
        return b.isDirect() ? U.getLong(b, ADDRESS) : 0;
    }

    static long load1(long host) {
        long v = U.getByte(host) & 0xFFL;
        VarHandle.acquireFence();
        return v;
    }

    static long load2(long host) {
        long v = U.getShort(host) & 0xFFFFL;
        VarHandle.acquireFence();
        return v;
    }

    static long load4(long host) {
        long v = U.getInt(host) & 0xFFFF_FFFFL;
        VarHandle.acquireFence();
        return v;
    }

    static long load8(long host) {
        long v = U.getLong(host);
        VarHandle.acquireFence();
        return v;
    }

    static long load(long host, int size) {
        return switch (size) {
            case 1 -> load1(host);
            case 2 -> load2(host);
            case 4 -> load4(host);
            default -> load8(host);
        };
    }

    static void store1(long host, long v) {
        VarHandle.releaseFence();
        U.putByte(host, (byte) v);
    }

    static void store2(long host, long v) {
        VarHandle.releaseFence();
        U.putShort(host, (short) v);
    }

    static void store4(long host, long v) {
        VarHandle.releaseFence();
        U.putInt(host, (int) v);
    }

    static void store8(long host, long v) {
        VarHandle.releaseFence();
        U.putLong(host, v);
    }

    static void store(long host, int size, long v) {
        switch (size) {
            case 1 -> store1(host, v);
            case 2 -> store2(host, v);
            case 4 -> store4(host, v);
            default -> store8(host, v);
        }
    }

    /** Stores {@code count} elements of {@code size} bytes, all {@code v}, from {@code host} on (REP STOS). */
    static void fill(long host, int count, int size, long v) {
        VarHandle.releaseFence();
        if (size == 1) {
            U.setMemory(host, count, (byte) v);
        } else {
            for (int i = 0; i < count; i++) {
                switch (size) {
                    case 2 -> U.putShort(host + 2L * i, (short) v);
                    case 4 -> U.putInt(host + 4L * i, (int) v);
                    default -> U.putLong(host + 8L * i, v);
                }
            }
        }
    }

    /**
     * Copies {@code bytes} bytes forward, element after element as REP MOVS does: where the destination starts
     * inside the source, the bytes copied first are read again (a repeating pattern), so the copy goes in
     * pieces no longer than the distance.
     */
    static void move(long src, long dst, int bytes) {
        VarHandle.releaseFence();
        long distance = dst - src;
        if (distance > 0 && distance < bytes) {
            for (long done = 0; done < bytes; done += distance) {
                U.copyMemory(src + done, dst + done, Math.min(distance, bytes - done));
            }
        } else {
            U.copyMemory(src, dst, bytes);
        }
        VarHandle.acquireFence();
    }
}
