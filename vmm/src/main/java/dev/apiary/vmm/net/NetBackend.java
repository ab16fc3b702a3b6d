package dev.apiary.vmm.net;

import dev.apiary.vmm.os.IoVec;

/**
 * The host side of one virtio-net queue pair: frames in and out, non-blocking, with a file descriptor that
 * polls readable when a frame waits. Frames move between the backend and guest memory through iovecs
 * ({@link IoVec}), so the kernel's copy is the only one. A backend with a virtio-net header ({@link #vnetHeader()}) carries
 * the 12-byte {@code virtio_net_hdr_v1} in front of every frame in both directions, which is what lets
 * checksum and segmentation offloads pass through untouched.
 */
public interface NetBackend extends AutoCloseable {
    /** Says what this is in logs: {@code tap apiary0 (queue 0)}. */
    String describe();

    /** The host side as status shows it: the TAP's name, {@code passt:PID}. */
    default String hostInterface() {
        return describe();
    }

    /** Polls readable (POLLIN) when {@link #receive} has a frame. */
    int pollFd();

    /** Whether frames carry a 12-byte virtio_net_hdr_v1. */
    boolean vnetHeader();

    /** Whether {@link #setOffloads} can turn on checksum and TSO offloads towards the guest. */
    boolean offloadsAvailable();

    /** TUN_F_* flags: which offloaded frames the host may hand to the guest. */
    void setOffloads(int tunFlags);

    /**
     * Reads one frame (after its header, with {@link #vnetHeader()}) scattered over {@code iov}, which the
     * device points straight at guest buffers. Returns the frame's whole length, which is more than
     * {@code iov.bytes()} when it did not fit (the rest is lost: the device always offers room for the
     * largest frame); 0 when none waits; -1 when the backend failed for good (its peer went away).
     */
    int receive(IoVec iov);

    /** Sends one frame gathered from {@code iov} (header first, with {@link #vnetHeader()}); false when refused. */
    boolean send(IoVec iov);

    @Override
    void close();
}
