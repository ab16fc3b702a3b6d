package dev.apiary.vmm.virtio;

/**
 * A virtio device type behind {@link VirtioPciTransport}: what it offers and how it is told that the driver
 * is ready, rang a queue or reset it. The transport calls these under its own lock, on vCPU threads.
 */
public interface VirtioDevice {
    /** The virtio device type (virtio 1.2 §5: 1 = network). */
    int type();

    /** PCI class code as 0xCCSSPP. */
    int pciClass();

    /** Feature bits offered, VIRTIO_F_VERSION_1 included. */
    long features();

    int queueCount();

    /** The largest size the driver may give queue {@code q}. */
    int maxQueueSize(int q);

    /** Bytes of device-specific configuration. */
    int configLength();

    /** A read of device-specific configuration ({@code offset + size <= configLength()}). */
    long readConfig(int offset, int size);

    void writeConfig(int offset, int size, long value);

    /** DRIVER_OK: the enabled queues are ready and {@code features} were accepted; start serving. */
    void activate(long features);

    /**
     * The driver notified queue {@code q} (available buffers). Called on a vCPU thread: only wake the device
     * thread, never process here.
     */
    void queueNotify(int q);

    /**
     * A device reset (status 0, or the machine's reset): stop serving, wait until no device thread touches a
     * queue, forget negotiated state. The transport resets the queues after this returns.
     */
    void deviceReset();
}
