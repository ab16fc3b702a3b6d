package dev.apiary.vmm.net;

import dev.apiary.vmm.os.IoVec;
import dev.apiary.vmm.os.LibC;
import dev.apiary.vmm.os.Native;
import dev.apiary.vmm.os.NativeStruct;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A Linux TAP queue (Documentation/networking/tuntap.rst): opened on {@code /dev/net/tun} with TUNSETIFF
 * (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, IFF_MULTI_QUEUE for more than one queue pair), or adopted from a file
 * descriptor a parent opened. With IFF_VNET_HDR the header size is set to 12 (TUNSETVNETHDRSZ: the
 * virtio 1.x header with num_buffers), so frames pass between the guest's rings and the TAP unchanged.
 * Offloads towards the guest are off until the guest negotiates them (TUNSETOFFLOAD).
 *
 * <p>Opening a name that does not exist creates the interface, which needs CAP_NET_ADMIN and disappears with
 * the last descriptor; a persistent TAP made beforehand (by the agent, or {@code ip tuntap add}) is only
 * attached to.
 */
public final class Tap implements NetBackend {
    // <linux/if_tun.h>
    static final long TUNSETIFF = 0x400454caL;
    static final long TUNSETOFFLOAD = 0x400454d0L;
    static final long TUNGETIFF = 0x800454d2L;
    static final long TUNSETVNETHDRSZ = 0x400454d8L;
    static final long TUNSETQUEUE = 0x400454d9L;
    static final int IFF_TAP = 0x0002;
    static final int IFF_NO_PI = 0x1000;
    static final int IFF_VNET_HDR = 0x4000;
    static final int IFF_MULTI_QUEUE = 0x0100;
    static final int IFF_ATTACH_QUEUE = 0x0200;
    static final int IFF_DETACH_QUEUE = 0x0400;
    public static final int TUN_F_CSUM = 0x01;
    public static final int TUN_F_TSO4 = 0x02;
    public static final int TUN_F_TSO6 = 0x04;
    public static final int TUN_F_TSO_ECN = 0x08;
    static final int IFREQ_SIZE = 40;
    static final int IFNAMSIZ = 16;
    static final int VNET_HDR_SIZE = 12;

    private final int fd;
    private final String name;
    private final int queue;
    private final boolean vnetHeader;
    private final boolean offloads;
    private final boolean owned;
    private final NativeStruct ifreq = new NativeStruct(IFREQ_SIZE);
    private volatile boolean closed;

    private Tap(int fd, String name, int queue, boolean vnetHeader, boolean owned) throws IOException {
        this.fd = fd;
        this.name = name;
        this.queue = queue;
        this.vnetHeader = vnetHeader;
        this.owned = owned;
        if (vnetHeader) {
            NativeStruct size = new NativeStruct(4);
            size.buf().putInt(0, VNET_HDR_SIZE);
            check(Native.libc().ioctl(fd, TUNSETVNETHDRSZ, size.address()), "TUNSETVNETHDRSZ on " + name);
        }
        // Probe: can the host hand us checksum-offloaded and TSO frames? Then back off until negotiated.
        boolean can = vnetHeader && Native.libc().ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) == 0;
        Native.libc().ioctl(fd, TUNSETOFFLOAD, 0);
        this.offloads = can;
    }

    /**
     * Opens (or, with CAP_NET_ADMIN, creates) the TAP {@code name} — an empty name lets the kernel pick
     * {@code tapN} — as {@code queues} queues (IFF_MULTI_QUEUE when more than one).
     */
    public static Tap[] open(String name, int queues) throws IOException {
        Tap[] taps = new Tap[queues];
        String actual = name == null ? "" : name;
        if (actual.getBytes(StandardCharsets.UTF_8).length >= IFNAMSIZ) {
            throw new IOException("TAP name '" + name + "' is longer than " + (IFNAMSIZ - 1) + " bytes");
        }
        try {
            for (int q = 0; q < queues; q++) {
                int fd = Native.libc().open("/dev/net/tun", LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_NONBLOCK);
                if (fd < 0) {
                    int e = Native.errno();
                    throw new IOException("cannot open /dev/net/tun: " + Native.strerror(e));
                }
                NativeStruct req = new NativeStruct(IFREQ_SIZE);
                req.buf().put(0, actual.getBytes(StandardCharsets.UTF_8));
                req.buf().putShort(IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (queues > 1 ? IFF_MULTI_QUEUE : 0)));
                if (Native.libc().ioctl(fd, TUNSETIFF, req.address()) < 0) {
                    int e = Native.errno();
                    Native.libc().close(fd);
                    throw new IOException("TUNSETIFF " + (actual.isEmpty() ? "(new TAP)" : actual) + ": " + Native.strerror(e)
                            + (e == 1 ? " (creating a TAP or attaching to another user's needs CAP_NET_ADMIN)" : ""));
                }
                actual = ifName(req);
                taps[q] = new Tap(fd, actual, q, true, true);
            }
        } catch (IOException | RuntimeException e) {
            for (Tap t : taps) {
                if (t != null) {
                    t.close();
                }
            }
            throw e;
        }
        return taps;
    }

    /**
     * Takes a TAP descriptor opened by a parent (the agent): the interface's name and flags come from
     * TUNGETIFF; the header is used when the opener set IFF_VNET_HDR. The descriptor is closed with this.
     */
    public static Tap adopt(int fd) throws IOException {
        NativeStruct req = new NativeStruct(IFREQ_SIZE);
        if (Native.libc().ioctl(fd, TUNGETIFF, req.address()) < 0) {
            throw new IOException("fd " + fd + " is not a TAP: TUNGETIFF: " + Native.strerror(Native.errno()));
        }
        int flags = req.buf().getShort(IFNAMSIZ) & 0xFFFF;
        if ((flags & IFF_TAP) == 0) {
            throw new IOException("fd " + fd + " is a TUN device, not a TAP");
        }
        int fl = Native.libc().fcntl(fd, LibC.F_GETFL, 0);
        if (fl < 0 || Native.libc().fcntl(fd, LibC.F_SETFL, fl | LibC.O_NONBLOCK) < 0) {
            throw new IOException("fd " + fd + ": cannot make it non-blocking: " + Native.strerror(Native.errno()));
        }
        return new Tap(fd, ifName(req), 0, (flags & IFF_VNET_HDR) != 0, true);
    }

    private static String ifName(NativeStruct req) {
        byte[] b = new byte[IFNAMSIZ];
        req.buf().get(0, b);
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    private static void check(int r, String what) throws IOException {
        if (r < 0) {
            throw new IOException(what + ": " + Native.strerror(Native.errno()));
        }
    }

    public String name() {
        return name;
    }

    @Override
    public String hostInterface() {
        return name;
    }

    @Override
    public String describe() {
        return "tap " + name + " (queue " + queue + ")";
    }

    @Override
    public int pollFd() {
        return fd;
    }

    @Override
    public boolean vnetHeader() {
        return vnetHeader;
    }

    @Override
    public boolean offloadsAvailable() {
        return offloads;
    }

    @Override
    public void setOffloads(int tunFlags) {
        if (offloads) {
            Native.libc().ioctl(fd, TUNSETOFFLOAD, tunFlags);
        }
    }

    /** Attaches or detaches this queue of a multi-queue TAP (TUNSETQUEUE): detached queues get no frames. */
    public void attachQueue(boolean attach) {
        synchronized (ifreq) {
            ifreq.clear();
            ifreq.buf().putShort(IFNAMSIZ, (short) (attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE));
            Native.libc().ioctl(fd, TUNSETQUEUE, ifreq.address());
        }
    }

    /**
     * One readv: the kernel copies the frame straight into the iovec's buffers and returns its whole length
     * even when they were too small (tun_put_user copies what fits and reports the total).
     */
    @Override
    public int receive(IoVec iov) {
        long n = Native.libc().readv(fd, iov.address(), iov.count());
        if (n >= 0) {
            return (int) n;
        }
        int e = Native.errno();
        return e == LibC.EAGAIN || e == LibC.EINTR ? 0 : -1;
    }

    @Override
    public boolean send(IoVec iov) {
        return Native.libc().writev(fd, iov.address(), iov.count()) == iov.bytes();
    }

    @Override
    public void close() {
        if (!closed && owned) {
            closed = true;
            Native.libc().close(fd);
        }
    }
}
