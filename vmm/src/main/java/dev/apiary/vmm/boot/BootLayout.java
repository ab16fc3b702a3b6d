package dev.apiary.vmm.boot;

/**
 * Where the boot code puts things in the guest's first MiB. The ranges do not overlap (a test checks), stay
 * clear of the real-mode IVT/BIOS data area (0–0x4FF), the EBDA (0x9FC00–0x9FFFF) and the ACPI area, and the
 * 64-bit identity map covers all of them. Linux reserves the whole first MiB early in boot, so nothing here
 * is overwritten before the kernel has read it.
 */
public final class BootLayout {
    private BootLayout() {}

    /** Boot GDT: null, null, code (0x10), data (0x18), TSS (0x20, 16 bytes in long mode). */
    public static final long GDT = 0x0500;
    public static final int GDT_ENTRIES = 6;
    public static final int GDT_SIZE = GDT_ENTRIES * 8;
    /** A zeroed 64-bit TSS (104 bytes) for the task register: KVM wants a usable busy TSS in long mode. */
    public static final long TSS = 0x0580;
    public static final int TSS_SIZE = 0x68;
    /** The zero page ({@code struct boot_params}). */
    public static final long ZERO_PAGE = 0x7000;
    /** A 4 KiB boot stack below the page tables; the kernel switches to its own stack at once. */
    public static final long STACK_BOTTOM = 0x8000;
    public static final long STACK_TOP = 0x8FF0;
    /** Identity map of the first 4 GiB: PML4, one PDPT, four page directories of 2 MiB pages. */
    public static final long PML4 = 0x9000;
    public static final long PDPT = 0xA000;
    public static final long PD = 0xB000;
    public static final int PD_COUNT = 4;
    public static final long PAGE_TABLES_END = PD + PD_COUNT * 0x1000L;
    /** The kernel command line, NUL-terminated. */
    public static final long CMDLINE = 0x2_0000;
    public static final int CMDLINE_MAX = 0x1_0000;
    /** Extended BIOS data area: reserved in the e820 map, left zero. */
    public static final long EBDA = 0x9_FC00;
    public static final long EBDA_END = 0xA_0000;
    /** ACPI tables (RSDP first), reserved in the e820 map; also where a legacy RSDP scan looks. */
    public static final long ACPI = 0xE_0000;
    public static final long ACPI_END = 0x10_0000;
    /** Where the protected-mode kernel is loaded: the bzImage convention. */
    public static final long KERNEL = 0x10_0000;
    /** Offset of the 64-bit entry point from the load address (boot.rst, "64-bit boot protocol"). */
    public static final long ENTRY64_OFFSET = 0x200;
}
