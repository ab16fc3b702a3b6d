package dev.apiary.vmm.virtio;

/** Register offsets, bits and feature numbers of the virtio PCI transport and split rings (virtio 1.2). */
public final class VirtioRegs {
    private VirtioRegs() {}

    /** PCI vendor of every virtio device; device ID = 0x1040 + virtio device type (virtio 1.2 §4.1.2.1). */
    public static final int PCI_VENDOR = 0x1AF4;
    public static final int PCI_DEVICE_BASE = 0x1040;
    /** §4.1.2.1: modern devices have revision ID 1 or higher. */
    public static final int PCI_REVISION = 1;

    // §4.1.4 virtio_pci_cap cfg_type
    public static final int CAP_COMMON_CFG = 1;
    public static final int CAP_NOTIFY_CFG = 2;
    public static final int CAP_ISR_CFG = 3;
    public static final int CAP_DEVICE_CFG = 4;

    // §4.1.4.3 struct virtio_pci_common_cfg
    public static final int DEVICE_FEATURE_SELECT = 0x00;
    public static final int DEVICE_FEATURE = 0x04;
    public static final int DRIVER_FEATURE_SELECT = 0x08;
    public static final int DRIVER_FEATURE = 0x0C;
    public static final int CONFIG_MSIX_VECTOR = 0x10;
    public static final int NUM_QUEUES = 0x12;
    public static final int DEVICE_STATUS = 0x14;
    public static final int CONFIG_GENERATION = 0x15;
    public static final int QUEUE_SELECT = 0x16;
    public static final int QUEUE_SIZE = 0x18;
    public static final int QUEUE_MSIX_VECTOR = 0x1A;
    public static final int QUEUE_ENABLE = 0x1C;
    public static final int QUEUE_NOTIFY_OFF = 0x1E;
    public static final int QUEUE_DESC = 0x20;
    public static final int QUEUE_DRIVER = 0x28;
    public static final int QUEUE_DEVICE = 0x30;
    public static final int QUEUE_NOTIFY_DATA = 0x38;
    public static final int COMMON_CFG_LENGTH = 0x38;

    /** §4.1.4.3: "no vector". */
    public static final int NO_VECTOR = 0xFFFF;

    // §2.1 device status
    public static final int STATUS_ACKNOWLEDGE = 1;
    public static final int STATUS_DRIVER = 2;
    public static final int STATUS_DRIVER_OK = 4;
    public static final int STATUS_FEATURES_OK = 8;
    public static final int STATUS_DEVICE_NEEDS_RESET = 0x40;
    public static final int STATUS_FAILED = 0x80;

    // §4.1.4.5 ISR status
    public static final int ISR_QUEUE = 1;
    public static final int ISR_CONFIG = 2;

    // §6 reserved feature bits
    public static final int F_RING_INDIRECT_DESC = 28;
    public static final int F_RING_EVENT_IDX = 29;
    public static final int F_VERSION_1 = 32;
    public static final int F_ACCESS_PLATFORM = 33;

    // §2.7.5 struct virtq_desc flags
    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;
    public static final int DESC_SIZE = 16;

    /** §2.7.6: avail.flags bit telling the device not to interrupt. */
    public static final int AVAIL_F_NO_INTERRUPT = 1;
    /** §2.7.8: used.flags bit telling the driver not to notify. */
    public static final int USED_F_NO_NOTIFY = 1;

    /** Largest split queue the transport accepts (§2.7: at most 32768). */
    public static final int MAX_QUEUE_SIZE = 32768;

    public static long bit(int feature) {
        return 1L << feature;
    }
}
