package dev.apiary.vmm.boot;

/**
 * The register state the boot vCPU starts with, as plain values: the vCPU code copies them into
 * {@code kvm_regs}/{@code kvm_sregs} without deriving anything. All other general registers are 0.
 *
 * @param mode       which entry protocol this is
 * @param rip        entry point (load address + 0x200 for 64-bit, {@code code32_start} for 32-bit)
 * @param rsp        a small boot stack in low memory (the kernel sets up its own at once)
 * @param rsi        guest-physical address of the zero page ({@code struct boot_params})
 * @param rflags     0x2 (reserved bit 1 only: interrupts off)
 * @param cr0        PE|ET, plus PG in 64-bit mode
 * @param cr3        PML4 address in 64-bit mode, else 0
 * @param cr4        PAE in 64-bit mode, else 0
 * @param efer       LME|LMA in 64-bit mode, else 0
 * @param gdtBase    guest-physical address of the boot GDT
 * @param gdtLimit   GDT size in bytes minus one
 * @param idtBase    0: no IDT (a fault before the kernel loads its own IDT is a triple fault, i.e. a shutdown exit)
 * @param idtLimit   0
 * @param cs         code segment (selector 0x10, __BOOT_CS)
 * @param ds         data segment for DS, ES, FS, GS and SS (selector 0x18, __BOOT_DS)
 * @param tr         task register (selector 0x20, a busy TSS in low memory)
 * @param kernelAddress where the protected-mode kernel was loaded
 * @param kernelEnd  first address past the memory the kernel may use while booting (load or pref address + init_size)
 * @param cmdline    guest-physical address of the NUL-terminated command line
 * @param initrdAddress guest-physical address of the initrd, 0 if none
 * @param initrdSize initrd bytes, 0 if none
 */
public record BootState(EntryMode mode, long rip, long rsp, long rsi, long rflags, long cr0, long cr3, long cr4,
        long efer, long gdtBase, int gdtLimit, long idtBase, int idtLimit, Segment cs, Segment ds, Segment tr,
        long kernelAddress, long kernelEnd, long cmdline, long initrdAddress, long initrdSize) {

    public static final long CR0_PE = 1L;
    public static final long CR0_ET = 1L << 4;
    public static final long CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1L << 5;
    public static final long EFER_LME = 1L << 8;
    public static final long EFER_LMA = 1L << 10;
    public static final long RFLAGS_RESERVED = 1L << 1;
}
