package dev.apiary.vmm.virtio;

/**
 * The driver broke a virtqueue beyond repair (a descriptor loop, an index outside the ring, a ring outside
 * guest RAM): the device stops using the queue and sets DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2).
 */
public final class VirtqueueException extends Exception {
    public VirtqueueException(String message) {
        super(message, null, false, false);
    }
}
