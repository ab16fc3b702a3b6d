package dev.apiary.vmm.net;

import dev.apiary.vmm.os.NativeStruct;

/**
 * The host side of one virtio-net queue pair: frames in and out, non-blocking, with a file descriptor that
 * polls readable when a frame waits. A backend with a virtio-net header ({@link #vnetHeader()}) carries
 * the 12-byte {@code virtio_net_hdr_v1} in front of every frame in both directions, which is what lets
 * checksum and segmentation offloads pass through untouched.
 */
public interface NetBackend extends AutoCloseable {
    /** Says what this is in logs: {@code tap apiary0 (queue 0)}. */
    String describe();

    /** Polls readable (POLLIN) when {@link #receive} has a frame. */
    int pollFd();

    /** Whether frames carry a 12-byte virtio_net_hdr_v1. */
    boolean vnetHeader();

    /** Whether {@link #setOffloads} can turn on checksum and TSO offloads towards the guest. */
    boolean offloadsAvailable();

    /** TUN_F_* flags: which offloaded frames the host may hand to the guest. */
    void setOffloads(int tunFlags);

    /** Reads one frame into {@code buf} at {@code offset}; its length, 0 when none waits, -1 on an error. */
    int receive(NativeStruct buf, int offset);

    /** Sends one frame; false when the host refused it. */
    boolean send(NativeStruct buf, int offset, int length);

    @Override
    void close();
}
