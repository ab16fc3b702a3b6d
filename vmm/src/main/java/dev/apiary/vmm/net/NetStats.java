package dev.apiary.vmm.net;

/**
 * What one virtio-net device moved and refused since it was created. Nothing is dropped without being
 * counted here.
 *
 * @param txFrames      frames sent to the backend
 * @param txBytes       their bytes (without the virtio-net header)
 * @param txDropped     transmit chains refused: faulty (outside RAM, bad order), too short or too long, or
 *                      refused by the backend
 * @param rxFrames      frames delivered to the guest
 * @param rxBytes       their bytes (without the header)
 * @param rxDropped     frames from the backend not delivered: runts, larger than the guest's buffers
 * @param rxFiltered    frames not for this interface (MAC filter, promiscuous mode off)
 * @param rxBadBuffers  receive chains the guest posted that could not be used (returned empty)
 * @param rxStalls      times a frame waited because the guest had posted no receive buffer (back-pressure:
 *                      the backend is not read meanwhile, so the host queues or drops, and counts, there)
 * @param controlErrors control queue commands answered with VIRTIO_NET_ERR
 * @param needsReset    times the device gave up on its queues (DEVICE_NEEDS_RESET)
 */
public record NetStats(long txFrames, long txBytes, long txDropped, long rxFrames, long rxBytes, long rxDropped,
        long rxFiltered, long rxBadBuffers, long rxStalls, long controlErrors, long needsReset) {}
