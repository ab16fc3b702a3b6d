package dev.apiary.vmm.accel.kvm;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every ioctl number, struct size and field offset the VMM uses from {@code <linux/kvm.h>}. The numbers are
 * written here once; {@link #facts()} pairs each with the C expression that must equal it, and a test
 * compiles those expressions with gcc against the real header, so ABI drift fails the build.
 */
public final class KvmAbi {
    private KvmAbi() {}

    private static final int KVMIO = 0xAE;
    private static final int IOC_NONE = 0;
    private static final int IOC_WRITE = 1;
    private static final int IOC_READ = 2;

    private static long ioc(int dir, int nr, int size) {
        return ((long) dir << 30) | ((long) size << 16) | ((long) KVMIO << 8) | nr;
    }

    static long io(int nr) {
        return ioc(IOC_NONE, nr, 0);
    }

    static long ior(int nr, int size) {
        return ioc(IOC_READ, nr, size);
    }

    static long iow(int nr, int size) {
        return ioc(IOC_WRITE, nr, size);
    }

    static long iowr(int nr, int size) {
        return ioc(IOC_READ | IOC_WRITE, nr, size);
    }

    // Struct sizes.
    public static final int SIZEOF_USERSPACE_MEMORY_REGION = 32;
    public static final int SIZEOF_IRQ_LEVEL = 8;
    public static final int SIZEOF_IRQCHIP = 520;
    public static final int SIZEOF_IRQFD = 32;
    public static final int SIZEOF_PIT_CONFIG = 64;
    public static final int SIZEOF_PIT_STATE2 = 112;
    public static final int SIZEOF_IOEVENTFD = 64;
    public static final int SIZEOF_MSI = 32;
    public static final int SIZEOF_REGS = 144;
    public static final int SIZEOF_SEGMENT = 24;
    public static final int SIZEOF_DTABLE = 16;
    public static final int SIZEOF_SREGS = 312;
    public static final int SIZEOF_FPU = 416;
    public static final int SIZEOF_MSRS = 8;
    public static final int SIZEOF_MSR_ENTRY = 16;
    public static final int SIZEOF_CPUID2 = 8;
    public static final int SIZEOF_CPUID_ENTRY2 = 40;
    public static final int SIZEOF_LAPIC_STATE = 1024;
    public static final int SIZEOF_MP_STATE = 4;

    // ioctls on /dev/kvm.
    public static final long KVM_GET_API_VERSION = io(0x00);
    public static final long KVM_CREATE_VM = io(0x01);
    public static final long KVM_CHECK_EXTENSION = io(0x03);
    public static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);
    public static final long KVM_GET_SUPPORTED_CPUID = iowr(0x05, SIZEOF_CPUID2);
    // ioctls on a VM.
    public static final long KVM_CREATE_VCPU = io(0x41);
    public static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, SIZEOF_USERSPACE_MEMORY_REGION);
    public static final long KVM_SET_TSS_ADDR = io(0x47);
    public static final long KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, 8);
    public static final long KVM_CREATE_IRQCHIP = io(0x60);
    public static final long KVM_IRQ_LINE = iow(0x61, SIZEOF_IRQ_LEVEL);
    public static final long KVM_GET_IRQCHIP = iowr(0x62, SIZEOF_IRQCHIP);
    public static final long KVM_SET_IRQCHIP = ior(0x63, SIZEOF_IRQCHIP);
    public static final long KVM_IRQFD = iow(0x76, SIZEOF_IRQFD);
    public static final long KVM_CREATE_PIT2 = iow(0x77, SIZEOF_PIT_CONFIG);
    public static final long KVM_IOEVENTFD = iow(0x79, SIZEOF_IOEVENTFD);
    public static final long KVM_GET_PIT2 = ior(0x9f, SIZEOF_PIT_STATE2);
    public static final long KVM_SET_PIT2 = iow(0xa0, SIZEOF_PIT_STATE2);
    public static final long KVM_SIGNAL_MSI = iow(0xa5, SIZEOF_MSI);
    // ioctls on a vCPU.
    public static final long KVM_RUN = io(0x80);
    public static final long KVM_GET_REGS = ior(0x81, SIZEOF_REGS);
    public static final long KVM_SET_REGS = iow(0x82, SIZEOF_REGS);
    public static final long KVM_GET_SREGS = ior(0x83, SIZEOF_SREGS);
    public static final long KVM_SET_SREGS = iow(0x84, SIZEOF_SREGS);
    public static final long KVM_SET_MSRS = iow(0x89, SIZEOF_MSRS);
    public static final long KVM_SET_FPU = iow(0x8d, SIZEOF_FPU);
    public static final long KVM_GET_LAPIC = ior(0x8e, SIZEOF_LAPIC_STATE);
    public static final long KVM_SET_LAPIC = iow(0x8f, SIZEOF_LAPIC_STATE);
    public static final long KVM_SET_CPUID2 = iow(0x90, SIZEOF_CPUID2);
    public static final long KVM_GET_MP_STATE = ior(0x98, SIZEOF_MP_STATE);
    public static final long KVM_SET_MP_STATE = iow(0x99, SIZEOF_MP_STATE);
    public static final long KVM_NMI = io(0x9a);

    // Capabilities.
    public static final int KVM_CAP_IRQCHIP = 0;
    public static final int KVM_CAP_USER_MEMORY = 3;
    public static final int KVM_CAP_SET_TSS_ADDR = 4;
    public static final int KVM_CAP_EXT_CPUID = 7;
    public static final int KVM_CAP_PIT2 = 33;
    public static final int KVM_CAP_IRQFD = 32;
    public static final int KVM_CAP_IOEVENTFD = 36;
    public static final int KVM_CAP_SIGNAL_MSI = 77;
    public static final int KVM_CAP_IMMEDIATE_EXIT = 136;
    public static final int KVM_CAP_NR_VCPUS = 9;
    public static final int KVM_CAP_MAX_VCPUS = 66;

    // kvm_run.
    public static final int RUN_IMMEDIATE_EXIT = 1;
    public static final int RUN_EXIT_REASON = 8;
    public static final int RUN_IO_DIRECTION = 32;
    public static final int RUN_IO_SIZE = 33;
    public static final int RUN_IO_PORT = 34;
    public static final int RUN_IO_COUNT = 36;
    public static final int RUN_IO_DATA_OFFSET = 40;
    public static final int RUN_MMIO_PHYS_ADDR = 32;
    public static final int RUN_MMIO_DATA = 40;
    public static final int RUN_MMIO_LEN = 48;
    public static final int RUN_MMIO_IS_WRITE = 52;
    public static final int RUN_FAIL_ENTRY_REASON = 32;
    public static final int RUN_INTERNAL_SUBERROR = 32;
    public static final int RUN_INTERNAL_NDATA = 36;
    public static final int RUN_INTERNAL_DATA = 40;
    public static final int RUN_SYSTEM_EVENT_TYPE = 32;

    public static final int KVM_EXIT_UNKNOWN = 0;
    public static final int KVM_EXIT_EXCEPTION = 1;
    public static final int KVM_EXIT_IO = 2;
    public static final int KVM_EXIT_HLT = 5;
    public static final int KVM_EXIT_MMIO = 6;
    public static final int KVM_EXIT_SHUTDOWN = 8;
    public static final int KVM_EXIT_FAIL_ENTRY = 9;
    public static final int KVM_EXIT_INTR = 10;
    public static final int KVM_EXIT_INTERNAL_ERROR = 17;
    public static final int KVM_EXIT_SYSTEM_EVENT = 24;
    public static final int KVM_EXIT_IO_IN = 0;
    public static final int KVM_EXIT_IO_OUT = 1;
    public static final int KVM_INTERNAL_ERROR_EMULATION = 1;
    public static final int KVM_SYSTEM_EVENT_SHUTDOWN = 1;
    public static final int KVM_SYSTEM_EVENT_RESET = 2;

    /** kvm_pit_config.flags: the kernel also emulates port 0x61 (PIT channel-2 gate and output, speaker). */
    public static final int KVM_PIT_SPEAKER_DUMMY = 1;
    public static final int KVM_MP_STATE_RUNNABLE = 0;
    public static final int KVM_MP_STATE_UNINITIALIZED = 1;
    public static final int KVM_MP_STATE_INIT_RECEIVED = 2;
    public static final int KVM_IRQFD_FLAG_DEASSIGN = 1;
    public static final int KVM_IOEVENTFD_FLAG_DATAMATCH = 1;
    public static final int KVM_IOEVENTFD_FLAG_PIO = 2;
    public static final int KVM_IOEVENTFD_FLAG_DEASSIGN = 4;
    public static final int KVM_IRQCHIP_PIC_MASTER = 0;
    public static final int KVM_IRQCHIP_PIC_SLAVE = 1;
    public static final int KVM_IRQCHIP_IOAPIC = 2;

    // Offsets inside structs.
    public static final int MEMREGION_SLOT = 0;
    /** kvm_userspace_memory_region.flags: the guest may not write the slot (writes exit as MMIO). */
    public static final int KVM_MEM_READONLY = 1 << 1;
    public static final int MEMREGION_FLAGS = 4;
    public static final int MEMREGION_GUEST_PHYS_ADDR = 8;
    public static final int MEMREGION_MEMORY_SIZE = 16;
    public static final int MEMREGION_USERSPACE_ADDR = 24;
    public static final int REGS_RAX = 0;
    public static final int REGS_RDX = 24;
    public static final int REGS_RSP = 48;
    public static final int REGS_RSI = 32;
    public static final int REGS_RIP = 128;
    public static final int REGS_RFLAGS = 136;
    public static final int SREGS_CS = 0;
    public static final int SREGS_DS = 24;
    public static final int SREGS_ES = 48;
    public static final int SREGS_FS = 72;
    public static final int SREGS_GS = 96;
    public static final int SREGS_SS = 120;
    public static final int SREGS_TR = 144;
    public static final int SREGS_LDT = 168;
    public static final int SREGS_GDT = 192;
    public static final int SREGS_IDT = 208;
    public static final int SREGS_CR0 = 224;
    public static final int SREGS_CR2 = 232;
    public static final int SREGS_CR3 = 240;
    public static final int SREGS_CR4 = 248;
    public static final int SREGS_CR8 = 256;
    public static final int SREGS_EFER = 264;
    public static final int SREGS_APIC_BASE = 272;
    public static final int SEG_BASE = 0;
    public static final int SEG_LIMIT = 8;
    public static final int SEG_SELECTOR = 12;
    public static final int SEG_TYPE = 14;
    public static final int SEG_PRESENT = 15;
    public static final int SEG_DPL = 16;
    public static final int SEG_DB = 17;
    public static final int SEG_S = 18;
    public static final int SEG_L = 19;
    public static final int SEG_G = 20;
    public static final int SEG_AVL = 21;
    public static final int SEG_UNUSABLE = 22;
    public static final int DTABLE_BASE = 0;
    public static final int DTABLE_LIMIT = 8;
    public static final int FPU_FCW = 128;
    public static final int FPU_MXCSR = 408;
    public static final int CPUID2_NENT = 0;
    public static final int CPUID2_ENTRIES = 8;
    public static final int CPUID_ENTRY_FUNCTION = 0;
    public static final int CPUID_ENTRY_INDEX = 4;
    public static final int CPUID_ENTRY_FLAGS = 8;
    public static final int CPUID_ENTRY_EAX = 12;
    public static final int CPUID_ENTRY_EBX = 16;
    public static final int CPUID_ENTRY_ECX = 20;
    public static final int CPUID_ENTRY_EDX = 24;
    public static final int MSRS_NMSRS = 0;
    public static final int MSRS_ENTRIES = 8;
    public static final int MSR_ENTRY_INDEX = 0;
    public static final int MSR_ENTRY_DATA = 8;
    public static final int IRQ_LEVEL_IRQ = 0;
    public static final int IRQ_LEVEL_LEVEL = 4;
    public static final int MSI_ADDRESS_LO = 0;
    public static final int MSI_ADDRESS_HI = 4;
    public static final int MSI_DATA = 8;
    public static final int MSI_FLAGS = 12;
    public static final int IRQFD_FD = 0;
    public static final int IRQFD_GSI = 4;
    public static final int IRQFD_FLAGS = 8;
    public static final int IOEVENTFD_DATAMATCH = 0;
    public static final int IOEVENTFD_ADDR = 8;
    public static final int IOEVENTFD_LEN = 16;
    public static final int IOEVENTFD_FD = 20;
    public static final int IOEVENTFD_FLAGS = 24;
    public static final int IRQCHIP_CHIP_ID = 0;
    public static final int PIT_CONFIG_FLAGS = 0;

    /** C expression → the value this class uses for it. */
    public static Map<String, Long> facts() {
        Map<String, Long> f = new LinkedHashMap<>();
        f.put("sizeof(struct kvm_userspace_memory_region)", (long) SIZEOF_USERSPACE_MEMORY_REGION);
        f.put("sizeof(struct kvm_irq_level)", (long) SIZEOF_IRQ_LEVEL);
        f.put("sizeof(struct kvm_irqchip)", (long) SIZEOF_IRQCHIP);
        f.put("sizeof(struct kvm_irqfd)", (long) SIZEOF_IRQFD);
        f.put("sizeof(struct kvm_pit_config)", (long) SIZEOF_PIT_CONFIG);
        f.put("sizeof(struct kvm_pit_state2)", (long) SIZEOF_PIT_STATE2);
        f.put("sizeof(struct kvm_ioeventfd)", (long) SIZEOF_IOEVENTFD);
        f.put("sizeof(struct kvm_msi)", (long) SIZEOF_MSI);
        f.put("sizeof(struct kvm_regs)", (long) SIZEOF_REGS);
        f.put("sizeof(struct kvm_segment)", (long) SIZEOF_SEGMENT);
        f.put("sizeof(struct kvm_dtable)", (long) SIZEOF_DTABLE);
        f.put("sizeof(struct kvm_sregs)", (long) SIZEOF_SREGS);
        f.put("sizeof(struct kvm_fpu)", (long) SIZEOF_FPU);
        f.put("sizeof(struct kvm_msrs)", (long) SIZEOF_MSRS);
        f.put("sizeof(struct kvm_msr_entry)", (long) SIZEOF_MSR_ENTRY);
        f.put("sizeof(struct kvm_cpuid2)", (long) SIZEOF_CPUID2);
        f.put("sizeof(struct kvm_cpuid_entry2)", (long) SIZEOF_CPUID_ENTRY2);
        f.put("sizeof(struct kvm_lapic_state)", (long) SIZEOF_LAPIC_STATE);
        f.put("sizeof(struct kvm_mp_state)", (long) SIZEOF_MP_STATE);

        f.put("KVM_GET_API_VERSION", KVM_GET_API_VERSION);
        f.put("KVM_CREATE_VM", KVM_CREATE_VM);
        f.put("KVM_CHECK_EXTENSION", KVM_CHECK_EXTENSION);
        f.put("KVM_GET_VCPU_MMAP_SIZE", KVM_GET_VCPU_MMAP_SIZE);
        f.put("KVM_GET_SUPPORTED_CPUID", KVM_GET_SUPPORTED_CPUID);
        f.put("KVM_CREATE_VCPU", KVM_CREATE_VCPU);
        f.put("KVM_SET_USER_MEMORY_REGION", KVM_SET_USER_MEMORY_REGION);
        f.put("KVM_SET_TSS_ADDR", KVM_SET_TSS_ADDR);
        f.put("KVM_SET_IDENTITY_MAP_ADDR", KVM_SET_IDENTITY_MAP_ADDR);
        f.put("KVM_CREATE_IRQCHIP", KVM_CREATE_IRQCHIP);
        f.put("KVM_IRQ_LINE", KVM_IRQ_LINE);
        f.put("KVM_GET_IRQCHIP", KVM_GET_IRQCHIP);
        f.put("KVM_SET_IRQCHIP", KVM_SET_IRQCHIP);
        f.put("KVM_IRQFD", KVM_IRQFD);
        f.put("KVM_CREATE_PIT2", KVM_CREATE_PIT2);
        f.put("KVM_IOEVENTFD", KVM_IOEVENTFD);
        f.put("KVM_GET_PIT2", KVM_GET_PIT2);
        f.put("KVM_SET_PIT2", KVM_SET_PIT2);
        f.put("KVM_SIGNAL_MSI", KVM_SIGNAL_MSI);
        f.put("KVM_RUN", KVM_RUN);
        f.put("KVM_GET_REGS", KVM_GET_REGS);
        f.put("KVM_SET_REGS", KVM_SET_REGS);
        f.put("KVM_GET_SREGS", KVM_GET_SREGS);
        f.put("KVM_SET_SREGS", KVM_SET_SREGS);
        f.put("KVM_SET_MSRS", KVM_SET_MSRS);
        f.put("KVM_SET_FPU", KVM_SET_FPU);
        f.put("KVM_GET_LAPIC", KVM_GET_LAPIC);
        f.put("KVM_SET_LAPIC", KVM_SET_LAPIC);
        f.put("KVM_SET_CPUID2", KVM_SET_CPUID2);
        f.put("KVM_GET_MP_STATE", KVM_GET_MP_STATE);
        f.put("KVM_SET_MP_STATE", KVM_SET_MP_STATE);
        f.put("KVM_NMI", KVM_NMI);

        f.put("KVM_CAP_IRQCHIP", (long) KVM_CAP_IRQCHIP);
        f.put("KVM_CAP_USER_MEMORY", (long) KVM_CAP_USER_MEMORY);
        f.put("KVM_CAP_SET_TSS_ADDR", (long) KVM_CAP_SET_TSS_ADDR);
        f.put("KVM_CAP_EXT_CPUID", (long) KVM_CAP_EXT_CPUID);
        f.put("KVM_CAP_PIT2", (long) KVM_CAP_PIT2);
        f.put("KVM_CAP_IRQFD", (long) KVM_CAP_IRQFD);
        f.put("KVM_CAP_IOEVENTFD", (long) KVM_CAP_IOEVENTFD);
        f.put("KVM_CAP_SIGNAL_MSI", (long) KVM_CAP_SIGNAL_MSI);
        f.put("KVM_CAP_IMMEDIATE_EXIT", (long) KVM_CAP_IMMEDIATE_EXIT);
        f.put("KVM_CAP_NR_VCPUS", (long) KVM_CAP_NR_VCPUS);
        f.put("KVM_CAP_MAX_VCPUS", (long) KVM_CAP_MAX_VCPUS);

        f.put("offsetof(struct kvm_run, immediate_exit)", (long) RUN_IMMEDIATE_EXIT);
        f.put("offsetof(struct kvm_run, exit_reason)", (long) RUN_EXIT_REASON);
        f.put("offsetof(struct kvm_run, io.direction)", (long) RUN_IO_DIRECTION);
        f.put("offsetof(struct kvm_run, io.size)", (long) RUN_IO_SIZE);
        f.put("offsetof(struct kvm_run, io.port)", (long) RUN_IO_PORT);
        f.put("offsetof(struct kvm_run, io.count)", (long) RUN_IO_COUNT);
        f.put("offsetof(struct kvm_run, io.data_offset)", (long) RUN_IO_DATA_OFFSET);
        f.put("offsetof(struct kvm_run, mmio.phys_addr)", (long) RUN_MMIO_PHYS_ADDR);
        f.put("offsetof(struct kvm_run, mmio.data)", (long) RUN_MMIO_DATA);
        f.put("offsetof(struct kvm_run, mmio.len)", (long) RUN_MMIO_LEN);
        f.put("offsetof(struct kvm_run, mmio.is_write)", (long) RUN_MMIO_IS_WRITE);
        f.put("offsetof(struct kvm_run, fail_entry.hardware_entry_failure_reason)", (long) RUN_FAIL_ENTRY_REASON);
        f.put("offsetof(struct kvm_run, internal.suberror)", (long) RUN_INTERNAL_SUBERROR);
        f.put("offsetof(struct kvm_run, internal.ndata)", (long) RUN_INTERNAL_NDATA);
        f.put("offsetof(struct kvm_run, internal.data)", (long) RUN_INTERNAL_DATA);
        f.put("offsetof(struct kvm_run, system_event.type)", (long) RUN_SYSTEM_EVENT_TYPE);
        f.put("KVM_EXIT_UNKNOWN", (long) KVM_EXIT_UNKNOWN);
        f.put("KVM_EXIT_EXCEPTION", (long) KVM_EXIT_EXCEPTION);
        f.put("KVM_EXIT_IO", (long) KVM_EXIT_IO);
        f.put("KVM_EXIT_HLT", (long) KVM_EXIT_HLT);
        f.put("KVM_EXIT_MMIO", (long) KVM_EXIT_MMIO);
        f.put("KVM_EXIT_SHUTDOWN", (long) KVM_EXIT_SHUTDOWN);
        f.put("KVM_EXIT_FAIL_ENTRY", (long) KVM_EXIT_FAIL_ENTRY);
        f.put("KVM_EXIT_INTR", (long) KVM_EXIT_INTR);
        f.put("KVM_EXIT_INTERNAL_ERROR", (long) KVM_EXIT_INTERNAL_ERROR);
        f.put("KVM_EXIT_SYSTEM_EVENT", (long) KVM_EXIT_SYSTEM_EVENT);
        f.put("KVM_EXIT_IO_IN", (long) KVM_EXIT_IO_IN);
        f.put("KVM_EXIT_IO_OUT", (long) KVM_EXIT_IO_OUT);
        f.put("KVM_INTERNAL_ERROR_EMULATION", (long) KVM_INTERNAL_ERROR_EMULATION);
        f.put("KVM_SYSTEM_EVENT_SHUTDOWN", (long) KVM_SYSTEM_EVENT_SHUTDOWN);
        f.put("KVM_SYSTEM_EVENT_RESET", (long) KVM_SYSTEM_EVENT_RESET);
        f.put("KVM_PIT_SPEAKER_DUMMY", (long) KVM_PIT_SPEAKER_DUMMY);
        f.put("KVM_MP_STATE_RUNNABLE", (long) KVM_MP_STATE_RUNNABLE);
        f.put("KVM_MP_STATE_UNINITIALIZED", (long) KVM_MP_STATE_UNINITIALIZED);
        f.put("KVM_MP_STATE_INIT_RECEIVED", (long) KVM_MP_STATE_INIT_RECEIVED);
        f.put("KVM_IRQFD_FLAG_DEASSIGN", (long) KVM_IRQFD_FLAG_DEASSIGN);
        f.put("KVM_IOEVENTFD_FLAG_DATAMATCH", (long) KVM_IOEVENTFD_FLAG_DATAMATCH);
        f.put("KVM_IOEVENTFD_FLAG_PIO", (long) KVM_IOEVENTFD_FLAG_PIO);
        f.put("KVM_IOEVENTFD_FLAG_DEASSIGN", (long) KVM_IOEVENTFD_FLAG_DEASSIGN);
        f.put("KVM_IRQCHIP_PIC_MASTER", (long) KVM_IRQCHIP_PIC_MASTER);
        f.put("KVM_IRQCHIP_PIC_SLAVE", (long) KVM_IRQCHIP_PIC_SLAVE);
        f.put("KVM_IRQCHIP_IOAPIC", (long) KVM_IRQCHIP_IOAPIC);

        f.put("offsetof(struct kvm_userspace_memory_region, slot)", (long) MEMREGION_SLOT);
        f.put("offsetof(struct kvm_userspace_memory_region, flags)", (long) MEMREGION_FLAGS);
        f.put("offsetof(struct kvm_userspace_memory_region, guest_phys_addr)", (long) MEMREGION_GUEST_PHYS_ADDR);
        f.put("offsetof(struct kvm_userspace_memory_region, memory_size)", (long) MEMREGION_MEMORY_SIZE);
        f.put("offsetof(struct kvm_userspace_memory_region, userspace_addr)", (long) MEMREGION_USERSPACE_ADDR);
        f.put("offsetof(struct kvm_regs, rax)", (long) REGS_RAX);
        f.put("offsetof(struct kvm_regs, rdx)", (long) REGS_RDX);
        f.put("offsetof(struct kvm_regs, rsp)", (long) REGS_RSP);
        f.put("offsetof(struct kvm_regs, rsi)", (long) REGS_RSI);
        f.put("offsetof(struct kvm_regs, rip)", (long) REGS_RIP);
        f.put("offsetof(struct kvm_regs, rflags)", (long) REGS_RFLAGS);
        f.put("offsetof(struct kvm_sregs, cs)", (long) SREGS_CS);
        f.put("offsetof(struct kvm_sregs, ds)", (long) SREGS_DS);
        f.put("offsetof(struct kvm_sregs, es)", (long) SREGS_ES);
        f.put("offsetof(struct kvm_sregs, fs)", (long) SREGS_FS);
        f.put("offsetof(struct kvm_sregs, gs)", (long) SREGS_GS);
        f.put("offsetof(struct kvm_sregs, ss)", (long) SREGS_SS);
        f.put("offsetof(struct kvm_sregs, tr)", (long) SREGS_TR);
        f.put("offsetof(struct kvm_sregs, ldt)", (long) SREGS_LDT);
        f.put("offsetof(struct kvm_sregs, gdt)", (long) SREGS_GDT);
        f.put("offsetof(struct kvm_sregs, idt)", (long) SREGS_IDT);
        f.put("offsetof(struct kvm_sregs, cr0)", (long) SREGS_CR0);
        f.put("offsetof(struct kvm_sregs, cr2)", (long) SREGS_CR2);
        f.put("offsetof(struct kvm_sregs, cr3)", (long) SREGS_CR3);
        f.put("offsetof(struct kvm_sregs, cr4)", (long) SREGS_CR4);
        f.put("offsetof(struct kvm_sregs, cr8)", (long) SREGS_CR8);
        f.put("offsetof(struct kvm_sregs, efer)", (long) SREGS_EFER);
        f.put("offsetof(struct kvm_sregs, apic_base)", (long) SREGS_APIC_BASE);
        f.put("offsetof(struct kvm_segment, base)", (long) SEG_BASE);
        f.put("offsetof(struct kvm_segment, limit)", (long) SEG_LIMIT);
        f.put("offsetof(struct kvm_segment, selector)", (long) SEG_SELECTOR);
        f.put("offsetof(struct kvm_segment, type)", (long) SEG_TYPE);
        f.put("offsetof(struct kvm_segment, present)", (long) SEG_PRESENT);
        f.put("offsetof(struct kvm_segment, dpl)", (long) SEG_DPL);
        f.put("offsetof(struct kvm_segment, db)", (long) SEG_DB);
        f.put("offsetof(struct kvm_segment, s)", (long) SEG_S);
        f.put("offsetof(struct kvm_segment, l)", (long) SEG_L);
        f.put("offsetof(struct kvm_segment, g)", (long) SEG_G);
        f.put("offsetof(struct kvm_segment, avl)", (long) SEG_AVL);
        f.put("offsetof(struct kvm_segment, unusable)", (long) SEG_UNUSABLE);
        f.put("offsetof(struct kvm_dtable, base)", (long) DTABLE_BASE);
        f.put("offsetof(struct kvm_dtable, limit)", (long) DTABLE_LIMIT);
        f.put("offsetof(struct kvm_fpu, fcw)", (long) FPU_FCW);
        f.put("offsetof(struct kvm_fpu, mxcsr)", (long) FPU_MXCSR);
        f.put("offsetof(struct kvm_cpuid2, nent)", (long) CPUID2_NENT);
        f.put("offsetof(struct kvm_cpuid2, entries)", (long) CPUID2_ENTRIES);
        f.put("offsetof(struct kvm_cpuid_entry2, function)", (long) CPUID_ENTRY_FUNCTION);
        f.put("offsetof(struct kvm_cpuid_entry2, index)", (long) CPUID_ENTRY_INDEX);
        f.put("offsetof(struct kvm_cpuid_entry2, flags)", (long) CPUID_ENTRY_FLAGS);
        f.put("offsetof(struct kvm_cpuid_entry2, eax)", (long) CPUID_ENTRY_EAX);
        f.put("offsetof(struct kvm_cpuid_entry2, ebx)", (long) CPUID_ENTRY_EBX);
        f.put("offsetof(struct kvm_cpuid_entry2, ecx)", (long) CPUID_ENTRY_ECX);
        f.put("offsetof(struct kvm_cpuid_entry2, edx)", (long) CPUID_ENTRY_EDX);
        f.put("offsetof(struct kvm_msrs, nmsrs)", (long) MSRS_NMSRS);
        f.put("offsetof(struct kvm_msrs, entries)", (long) MSRS_ENTRIES);
        f.put("offsetof(struct kvm_msr_entry, index)", (long) MSR_ENTRY_INDEX);
        f.put("offsetof(struct kvm_msr_entry, data)", (long) MSR_ENTRY_DATA);
        f.put("offsetof(struct kvm_irq_level, irq)", (long) IRQ_LEVEL_IRQ);
        f.put("offsetof(struct kvm_irq_level, level)", (long) IRQ_LEVEL_LEVEL);
        f.put("offsetof(struct kvm_msi, address_lo)", (long) MSI_ADDRESS_LO);
        f.put("offsetof(struct kvm_msi, address_hi)", (long) MSI_ADDRESS_HI);
        f.put("offsetof(struct kvm_msi, data)", (long) MSI_DATA);
        f.put("offsetof(struct kvm_msi, flags)", (long) MSI_FLAGS);
        f.put("offsetof(struct kvm_irqfd, fd)", (long) IRQFD_FD);
        f.put("offsetof(struct kvm_irqfd, gsi)", (long) IRQFD_GSI);
        f.put("offsetof(struct kvm_irqfd, flags)", (long) IRQFD_FLAGS);
        f.put("offsetof(struct kvm_ioeventfd, datamatch)", (long) IOEVENTFD_DATAMATCH);
        f.put("offsetof(struct kvm_ioeventfd, addr)", (long) IOEVENTFD_ADDR);
        f.put("offsetof(struct kvm_ioeventfd, len)", (long) IOEVENTFD_LEN);
        f.put("offsetof(struct kvm_ioeventfd, fd)", (long) IOEVENTFD_FD);
        f.put("offsetof(struct kvm_ioeventfd, flags)", (long) IOEVENTFD_FLAGS);
        f.put("offsetof(struct kvm_irqchip, chip_id)", (long) IRQCHIP_CHIP_ID);
        f.put("offsetof(struct kvm_pit_config, flags)", (long) PIT_CONFIG_FLAGS);
        return f;
    }
}
