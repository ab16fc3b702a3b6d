package dev.apiary.vmm.pci;

/**
 * Offsets and bits of the type-0 configuration header and of the MSI-X capability. Names as in the PCI
 * Local Bus Specification 3.0 (PCI LB 3.0) and the PCI Express Base Specification (for MSI-X, which
 * conventional PCI 3.0 §6.8.2 also defines).
 */
public final class PciRegs {
    private PciRegs() {}

    /** Size of conventional configuration space. */
    public static final int CONFIG_SPACE_SIZE = 256;

    // PCI LB 3.0 §6.1, figure 6-1: the type-0 header.
    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION_ID = 0x08;
    public static final int PROG_IF = 0x09;
    public static final int SUBCLASS = 0x0A;
    public static final int CLASS_CODE = 0x0B;
    public static final int CACHE_LINE_SIZE = 0x0C;
    public static final int LATENCY_TIMER = 0x0D;
    public static final int HEADER_TYPE = 0x0E;
    public static final int BIST = 0x0F;
    public static final int BAR0 = 0x10;
    public static final int BAR_COUNT = 6;
    public static final int CARDBUS_CIS = 0x28;
    public static final int SUBSYSTEM_VENDOR_ID = 0x2C;
    public static final int SUBSYSTEM_ID = 0x2E;
    public static final int EXPANSION_ROM = 0x30;
    public static final int CAPABILITIES_POINTER = 0x34;
    public static final int INTERRUPT_LINE = 0x3C;
    public static final int INTERRUPT_PIN = 0x3D;
    public static final int MIN_GNT = 0x3E;
    public static final int MAX_LAT = 0x3F;
    /** First byte after the header: device-specific registers and capabilities live from here. */
    public static final int DEVICE_SPECIFIC = 0x40;

    // PCI LB 3.0 §6.2.2: Command register.
    public static final int COMMAND_IO_SPACE = 1 << 0;
    public static final int COMMAND_MEMORY_SPACE = 1 << 1;
    public static final int COMMAND_BUS_MASTER = 1 << 2;
    public static final int COMMAND_INTX_DISABLE = 1 << 10;
    /** The bits a guest may change (as QEMU: the rest are hard-wired to 0 for an emulated function). */
    public static final int COMMAND_WRITABLE = COMMAND_IO_SPACE | COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER
            | COMMAND_INTX_DISABLE;

    // PCI LB 3.0 §6.2.3: Status register.
    public static final int STATUS_INTERRUPT = 1 << 3;
    public static final int STATUS_CAPABILITIES_LIST = 1 << 4;

    // PCI LB 3.0 §6.2.1: Header Type register.
    public static final int HEADER_TYPE_MULTI_FUNCTION = 0x80;

    // PCI LB 3.0 §6.2.5.1: Base Address registers (low bits are read-only type bits).
    public static final int BAR_SPACE_IO = 0x1;
    public static final int BAR_MEM_TYPE_64 = 0x4;
    public static final int BAR_MEM_PREFETCHABLE = 0x8;
    public static final int BAR_IO_FLAG_BITS = 0x3;
    public static final int BAR_MEM_FLAG_BITS = 0xF;

    // PCI LB 3.0 appendix H: capability IDs.
    public static final int CAP_ID_PM = 0x01;
    public static final int CAP_ID_MSI = 0x05;
    public static final int CAP_ID_VENDOR = 0x09;
    public static final int CAP_ID_PCIE = 0x10;
    public static final int CAP_ID_MSIX = 0x11;

    // PCI LB 3.0 §6.8.2: MSI-X capability structure (offsets from the capability).
    public static final int MSIX_MESSAGE_CONTROL = 0x02;
    public static final int MSIX_TABLE = 0x04;
    public static final int MSIX_PBA = 0x08;
    public static final int MSIX_CAP_LENGTH = 12;
    public static final int MSIX_CONTROL_TABLE_SIZE_MASK = 0x07FF;
    public static final int MSIX_CONTROL_FUNCTION_MASK = 1 << 14;
    public static final int MSIX_CONTROL_ENABLE = 1 << 15;
    public static final int MSIX_BIR_MASK = 0x7;
    /** Largest table the Table Size field can describe. */
    public static final int MSIX_MAX_VECTORS = 2048;

    // PCI LB 3.0 §6.8.2.6–§6.8.2.9: MSI-X table entry (16 bytes) and PBA.
    public static final int MSIX_ENTRY_SIZE = 16;
    public static final int MSIX_ENTRY_ADDR_LO = 0x0;
    public static final int MSIX_ENTRY_ADDR_HI = 0x4;
    public static final int MSIX_ENTRY_DATA = 0x8;
    public static final int MSIX_ENTRY_VECTOR_CONTROL = 0xC;
    public static final int MSIX_VECTOR_CONTROL_MASK = 1;

    // PCI LB 3.0 §3.2.2.3.2: configuration mechanism #1.
    public static final int CONFIG_ADDRESS_PORT = 0xCF8;
    public static final int CONFIG_DATA_PORT = 0xCFC;
    public static final int CONFIG_ADDRESS_ENABLE = 1 << 31;
}
