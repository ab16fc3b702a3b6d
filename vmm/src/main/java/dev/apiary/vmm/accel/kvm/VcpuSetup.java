package dev.apiary.vmm.accel.kvm;

import static dev.apiary.vmm.accel.kvm.KvmAbi.*;

import dev.apiary.vmm.boot.BootState;
import dev.apiary.vmm.boot.Segment;
import dev.apiary.vmm.accel.kvm.KvmVcpu;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Power-on state of a vCPU: CPUID, MSRs, FPU, local APIC wiring, and the boot vCPU's entry registers. */
public final class VcpuSetup {
    private static final int MSR_IA32_TSC = 0x10;
    private static final int MSR_IA32_SYSENTER_CS = 0x174;
    private static final int MSR_IA32_SYSENTER_ESP = 0x175;
    private static final int MSR_IA32_SYSENTER_EIP = 0x176;
    private static final int MSR_IA32_MISC_ENABLE = 0x1A0;
    private static final int MSR_MTRR_DEF_TYPE = 0x2FF;
    private static final int MSR_STAR = 0xC000_0081;
    private static final int MSR_LSTAR = 0xC000_0082;
    private static final int MSR_CSTAR = 0xC000_0083;
    private static final int MSR_SYSCALL_MASK = 0xC000_0084;
    private static final int MSR_KERNEL_GS_BASE = 0xC000_0102;

    private static final int APIC_LVT_LINT0 = 0x350;
    private static final int APIC_LVT_LINT1 = 0x360;
    private static final int APIC_MODE_EXTINT = 0x7 << 8;
    private static final int APIC_MODE_NMI = 0x4 << 8;


    private VcpuSetup() {}

    /**
     * What every vCPU gets at creation and at each reset (CPUID is set once, at creation: KVM refuses to
     * change it after a vCPU has run).
     */
    public static void powerOn(KvmVcpu vcpu) {
        long[] msrs = {
                MSR_IA32_SYSENTER_CS, 0, MSR_IA32_SYSENTER_ESP, 0, MSR_IA32_SYSENTER_EIP, 0,
                MSR_STAR, 0, MSR_LSTAR, 0, MSR_CSTAR, 0, MSR_SYSCALL_MASK, 0, MSR_KERNEL_GS_BASE, 0,
                MSR_IA32_TSC, 0,
                MSR_IA32_MISC_ENABLE, 1, // fast string operations, as firmware leaves it
                MSR_MTRR_DEF_TYPE, (1 << 11) | 6}; // MTRRs on, default write-back: RAM is cacheable
        int set = vcpu.setMsrs(msrs);
        if (set != msrs.length / 2) {
            // KVM stops at the first MSR it refuses; the guest then starts with that and later ones at reset values.
            System.getLogger(VcpuSetup.class.getName()).log(System.Logger.Level.WARNING, String.format(
                    "vCPU %d: KVM accepted %d of %d initial MSRs (refused MSR 0x%x)", vcpu.index(), set,
                    msrs.length / 2, msrs[2 * set]));
        }
        vcpu.resetFpu();
        // Virtual-wire mode, as firmware leaves it: LINT0 takes the PIC's ExtINT, LINT1 NMIs.
        ByteBuffer lapic = ByteBuffer.wrap(vcpu.getLapic()).order(ByteOrder.LITTLE_ENDIAN);
        lapic.putInt(APIC_LVT_LINT0, (lapic.getInt(APIC_LVT_LINT0) & ~0x700) | APIC_MODE_EXTINT);
        lapic.putInt(APIC_LVT_LINT1, (lapic.getInt(APIC_LVT_LINT1) & ~0x700) | APIC_MODE_NMI);
        vcpu.setLapic(lapic.array());
    }

    /** Puts the boot vCPU in the state the loader asked for (64-bit or 32-bit kernel entry). */
    public static void enter(KvmVcpu vcpu, BootState b) {
        ByteBuffer s = vcpu.getSregs();
        segment(s, SREGS_CS, b.cs());
        for (int seg : new int[] {SREGS_DS, SREGS_ES, SREGS_FS, SREGS_GS, SREGS_SS}) {
            segment(s, seg, b.ds());
        }
        segment(s, SREGS_TR, b.tr());
        s.putLong(SREGS_GDT + DTABLE_BASE, b.gdtBase()).putShort(SREGS_GDT + DTABLE_LIMIT, (short) b.gdtLimit());
        s.putLong(SREGS_IDT + DTABLE_BASE, b.idtBase()).putShort(SREGS_IDT + DTABLE_LIMIT, (short) b.idtLimit());
        s.putLong(SREGS_CR0, b.cr0()).putLong(SREGS_CR3, b.cr3()).putLong(SREGS_CR4, b.cr4()).putLong(SREGS_EFER, b.efer());
        vcpu.setSregs();
        ByteBuffer r = vcpu.regsBuffer();
        for (int i = 0; i < SIZEOF_REGS; i += 8) {
            r.putLong(i, 0);
        }
        r.putLong(REGS_RIP, b.rip()).putLong(REGS_RSI, b.rsi()).putLong(REGS_RSP, b.rsp()).putLong(REGS_RFLAGS, b.rflags());
        vcpu.setRegs();
    }

    /**
     * The RESET state of SDM Vol. 3A Table 9-1, for firmware: real mode, CS F000 with base 0xFFFF0000 and IP
     * FFF0, data segments at 0 with 64 KiB limits, CR0 0x60000010, EDX the processor signature. Set explicitly,
     * since after a machine reset KVM's registers are wherever the guest left them.
     */
    public static void resetVector(KvmVcpu vcpu) {
        ByteBuffer s = vcpu.getSregs();
        realModeSegment(s, SREGS_CS, 0xF000, 0xFFFF_0000L, 0xB);
        for (int seg : new int[] {SREGS_DS, SREGS_ES, SREGS_FS, SREGS_GS, SREGS_SS}) {
            realModeSegment(s, seg, 0, 0, 0x3);
        }
        segment(s, SREGS_TR, new Segment(0, 0, 0xFFFF, 0xB, true, 0, false, false, false, false, false));
        segment(s, SREGS_LDT, new Segment(0, 0, 0xFFFF, 0x2, true, 0, false, false, false, false, false));
        s.putLong(SREGS_GDT + DTABLE_BASE, 0).putShort(SREGS_GDT + DTABLE_LIMIT, (short) 0xFFFF);
        s.putLong(SREGS_IDT + DTABLE_BASE, 0).putShort(SREGS_IDT + DTABLE_LIMIT, (short) 0xFFFF);
        s.putLong(SREGS_CR0, 0x6000_0010L).putLong(SREGS_CR3, 0).putLong(SREGS_CR4, 0).putLong(SREGS_EFER, 0)
                .putLong(SREGS_CR2, 0);
        vcpu.setSregs();
        ByteBuffer r = vcpu.regsBuffer();
        for (int i = 0; i < SIZEOF_REGS; i += 8) {
            r.putLong(i, 0);
        }
        r.putLong(REGS_RIP, 0xFFF0).putLong(REGS_RFLAGS, 2).putLong(REGS_RDX, 0x600);
        vcpu.setRegs();
    }

    private static void realModeSegment(ByteBuffer s, int off, int selector, long base, int type) {
        segment(s, off, new Segment(selector, base, 0xFFFF, type, true, 0, false, true, false, false, false));
    }

    private static void segment(ByteBuffer s, int off, Segment g) {
        s.putLong(off + SEG_BASE, g.base()).putInt(off + SEG_LIMIT, (int) g.limit())
                .putShort(off + SEG_SELECTOR, (short) g.selector()).put(off + SEG_TYPE, (byte) g.type())
                .put(off + SEG_PRESENT, (byte) (g.present() ? 1 : 0)).put(off + SEG_DPL, (byte) g.dpl())
                .put(off + SEG_DB, (byte) (g.db() ? 1 : 0)).put(off + SEG_S, (byte) (g.s() ? 1 : 0))
                .put(off + SEG_L, (byte) (g.l() ? 1 : 0)).put(off + SEG_G, (byte) (g.g() ? 1 : 0))
                .put(off + SEG_AVL, (byte) (g.avl() ? 1 : 0)).put(off + SEG_UNUSABLE, (byte) 0);
    }
}
