package dev.apiary.vmm.boot;

/**
 * Offsets and bits of the Linux x86 boot protocol: the setup header (same offsets in the bzImage file and in
 * the zero page) and the rest of {@code struct boot_params}. Names as in Linux's
 * {@code Documentation/arch/x86/boot.rst} and {@code arch/x86/include/uapi/asm/bootparam.h}.
 */
public final class BootParams {
    private BootParams() {}

    /** Size of the zero page ({@code struct boot_params}). */
    public static final int SIZE = 4096;

    // --- struct boot_params, outside the setup header (zero-page.rst)
    public static final int ACPI_RSDP_ADDR = 0x070; // u64, protocol 2.14+
    public static final int EXT_RAMDISK_IMAGE = 0x0C0; // u32: bits 32-63 of ramdisk_image
    public static final int EXT_RAMDISK_SIZE = 0x0C4; // u32: bits 32-63 of ramdisk_size
    public static final int EXT_CMD_LINE_PTR = 0x0C8; // u32: bits 32-63 of cmd_line_ptr
    public static final int ALT_MEM_K = 0x1E0;
    public static final int E820_ENTRIES = 0x1E8; // u8
    public static final int SENTINEL = 0x1EF; // u8: must stay 0, or the kernel wipes "unknown" fields
    public static final int E820_TABLE = 0x2D0; // struct boot_e820_entry[128]
    public static final int E820_MAX_ENTRIES = 128;
    public static final int E820_ENTRY_SIZE = 20; // u64 addr, u64 size, u32 type (packed)

    // --- setup header (boot.rst, "The real-mode kernel header")
    public static final int HDR_START = 0x1F1;
    /** Where the zero page's copy of the setup header must end ({@code edd_mbr_sig_buffer} follows at 0x290). */
    public static final int HDR_LIMIT = 0x290;
    public static final int SETUP_SECTS = 0x1F1; // u8; 0 means 4
    public static final int SYSSIZE = 0x1F4; // u32, 16-byte paragraphs (2.04+)
    public static final int VID_MODE = 0x1FA; // u16
    public static final int BOOT_FLAG = 0x1FE; // u16 = 0xAA55
    public static final int JUMP = 0x200; // u16; byte 0x201 + 0x202 = end of the header
    public static final int HEADER = 0x202; // u32 = "HdrS"
    public static final int VERSION = 0x206; // u16
    public static final int KERNEL_VERSION = 0x20E; // u16: offset of a version string, minus 0x200
    public static final int TYPE_OF_LOADER = 0x210; // u8
    public static final int LOADFLAGS = 0x211; // u8
    public static final int CODE32_START = 0x214; // u32
    public static final int RAMDISK_IMAGE = 0x218; // u32
    public static final int RAMDISK_SIZE = 0x21C; // u32
    public static final int HEAP_END_PTR = 0x224; // u16
    public static final int EXT_LOADER_VER = 0x226; // u8
    public static final int CMD_LINE_PTR = 0x228; // u32
    public static final int INITRD_ADDR_MAX = 0x22C; // u32
    public static final int KERNEL_ALIGNMENT = 0x230; // u32
    public static final int RELOCATABLE_KERNEL = 0x234; // u8
    public static final int XLOADFLAGS = 0x236; // u16 (2.12+)
    public static final int CMDLINE_SIZE = 0x238; // u32 (2.06+)
    public static final int PREF_ADDRESS = 0x258; // u64 (2.10+)
    public static final int INIT_SIZE = 0x260; // u32 (2.10+)

    public static final int BOOT_FLAG_VALUE = 0xAA55;
    /** "HdrS" read as a little-endian u32. */
    public static final int HEADER_MAGIC = 0x5372_6448;

    // loadflags
    public static final int LOADED_HIGH = 1 << 0;
    public static final int KEEP_SEGMENTS = 1 << 6;
    public static final int CAN_USE_HEAP = 1 << 7;

    // xloadflags
    public static final int XLF_KERNEL_64 = 1 << 0;
    public static final int XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;

    /** "Undefined" boot loader id: we have none assigned (boot.rst, type_of_loader). */
    public static final int LOADER_TYPE_UNDEFINED = 0xFF;

    /** Protocol versions that added what we use. */
    public static final int PROTOCOL_MIN = 0x0206;
    public static final int PROTOCOL_PREF_ADDRESS = 0x020A;
    public static final int PROTOCOL_XLOADFLAGS = 0x020C;
    public static final int PROTOCOL_ACPI_RSDP = 0x020E;

    static String version(int v) {
        return (v >>> 8) + "." + String.format("%02d", v & 0xFF);
    }
}
