package dev.apiary.vmm.net;

/** virtio-net feature bits, configuration layout and control commands (virtio 1.2 §5.1). */
final class VirtioNetRegs {
    private VirtioNetRegs() {}

    static final int TYPE = 1;
    static final int PCI_CLASS = 0x020000; // network controller, Ethernet

    // §5.1.3 feature bits
    static final int F_CSUM = 0;
    static final int F_GUEST_CSUM = 1;
    static final int F_MTU = 3;
    static final int F_MAC = 5;
    static final int F_GUEST_TSO4 = 7;
    static final int F_GUEST_TSO6 = 8;
    static final int F_GUEST_ECN = 9;
    static final int F_HOST_TSO4 = 11;
    static final int F_HOST_TSO6 = 12;
    static final int F_HOST_ECN = 13;
    static final int F_MRG_RXBUF = 15;
    static final int F_STATUS = 16;
    static final int F_CTRL_VQ = 17;
    static final int F_CTRL_RX = 18;
    static final int F_MQ = 22;
    static final int F_CTRL_MAC_ADDR = 23;

    // §5.1.4 struct virtio_net_config
    static final int CONFIG_MAC = 0;
    static final int CONFIG_STATUS = 6;
    static final int CONFIG_MAX_PAIRS = 8;
    static final int CONFIG_MTU = 10;
    static final int CONFIG_LENGTH = 12;
    static final int STATUS_LINK_UP = 1;

    /** §5.1.6: struct virtio_net_hdr with num_buffers, always 12 bytes with VERSION_1. */
    static final int HDR_SIZE = 12;
    static final int HDR_NUM_BUFFERS = 10;

    // §5.1.6.5 control queue
    static final int CTRL_OK = 0;
    static final int CTRL_ERR = 1;
    static final int CTRL_RX = 0;
    static final int CTRL_RX_PROMISC = 0;
    static final int CTRL_RX_ALLMULTI = 1;
    static final int CTRL_MAC = 1;
    static final int CTRL_MAC_TABLE_SET = 0;
    static final int CTRL_MAC_ADDR_SET = 1;
    static final int CTRL_MQ = 4;
    static final int CTRL_MQ_VQ_PAIRS_SET = 0;
    /** §5.1.6.5.5: 1 to 0x8000 pairs. */
    static final int MQ_PAIRS_MAX = 0x8000;
}
