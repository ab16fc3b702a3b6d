package dev.apiary.vmm.accel.emu;

import dev.apiary.vmm.accel.AccelVcpu;
import dev.apiary.vmm.boot.BootState;
import dev.apiary.vmm.boot.Segment;
import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.intc.LocalApic;
import dev.apiary.vmm.x86.Cpu;
import dev.apiary.vmm.x86.CpuConfig;
import dev.apiary.vmm.x86.CpuState;
import dev.apiary.vmm.x86.X86Platform;

/**
 * One vCPU of the software CPU: runs the interpreter in slices on its own thread, sleeps while the guest is
 * halted (until an interrupt, an IPI or its APIC timer), and returns only guest stops or kicks.
 */
final class EmulatedVcpu implements AccelVcpu {
    /** Instructions per slice between looks at kicks and timers; small enough for prompt kicks. */
    private static final long SLICE = 200_000;
    private static final System.Logger LOG = System.getLogger(EmulatedVcpu.class.getName());
    private static final int RSP = 4;
    private static final int RSI = 6;

    private final Cpu cpu;
    private final LocalApic apic;
    private final int index;
    private final ThreadLocal<LocalApic> currentApic;
    private volatile boolean kicked;

    EmulatedVcpu(X86Platform platform, LocalApic apic, int index, int count, ThreadLocal<LocalApic> currentApic) {
        this.apic = apic;
        this.index = index;
        this.currentApic = currentApic;
        this.cpu = new Cpu(platform, apic, new CpuConfig(index, index, count));
        apic.connect(cpu);
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public void powerOn() {
        cpu.reset();
        // as on KVM (VcpuSetup.powerOn) and as firmware leaves them: fast strings on, MTRRs on with RAM
        // write-back by default (with MTRRs off Linux also leaves the PAT unprogrammed: no write-combining)
        cpu.state().setMsr(MSR_MISC_ENABLE, 1);
        cpu.state().setMsr(MSR_MTRR_DEF_TYPE, (1 << 11) | 6);
        apic.virtualWire();
    }

    private static final int MSR_MISC_ENABLE = 0x1A0;
    private static final int MSR_MTRR_DEF_TYPE = 0x2FF;

    @Override
    public void enter(BootState b) {
        CpuState s = cpu.state();
        s.setCr0(b.cr0());
        s.setCr4(b.cr4());
        s.setCr3(b.cr3());
        s.setEfer(b.efer());
        s.setGdtr(b.gdtBase(), b.gdtLimit());
        s.setIdtr(b.idtBase(), b.idtLimit());
        segment(s, CpuState.CS, b.cs());
        for (int seg : new int[] {CpuState.ES, CpuState.SS, CpuState.DS, CpuState.FS, CpuState.GS}) {
            segment(s, seg, b.ds());
        }
        segment(s, CpuState.TR, b.tr());
        for (int i = 0; i < 16; i++) {
            s.setGpr(i, 0);
        }
        s.setGpr(RSI, b.rsi());
        s.setGpr(RSP, b.rsp());
        s.setRflags(b.rflags());
        s.setRip(b.rip());
    }

    @Override
    public void enterResetVector() {
        cpu.resetToVector();
    }

    private static void segment(CpuState s, int seg, Segment g) {
        int attributes = (g.type() & 0xF) | (g.s() ? 1 << 4 : 0) | ((g.dpl() & 3) << 5) | (g.present() ? 1 << 7 : 0)
                | (g.avl() ? 1 << 12 : 0) | (g.l() ? 1 << 13 : 0) | (g.db() ? 1 << 14 : 0) | (g.g() ? 1 << 15 : 0);
        s.setSegment(seg, g.selector(), g.base(), g.limit(), attributes);
    }

    @Override
    public void waitForStartup() {
        // cpu.reset() leaves an application processor waiting for SIPI already.
    }

    @Override
    public GuestStop run(Bus ports, Bus mmio) {
        currentApic.set(apic);
        while (true) {
            if (kicked) {
                kicked = false;
                return null;
            }
            Cpu.Exit exit = cpu.run(SLICE);
            switch (exit) {
                case BUDGET:
                case EXIT_REQUESTED:
                    break;
                case HALTED:
                case WAITING_FOR_SIPI:
                    if (!kicked) {
                        cpu.awaitEvent(apic.poll(System.nanoTime()));
                    }
                    break;
                case SHUTDOWN:
                    // a guest's doing, but its registers and last instructions are what anyone debugging it needs
                    LOG.log(System.Logger.Level.INFO, () -> "vCPU " + index + ": triple fault\n" + describe());
                    return new GuestStop.TripleFault(index);
                case INTERNAL_ERROR:
                    return new GuestStop.HostError("vCPU " + index + ": software CPU " + cpu.internalError() + "\n"
                            + describe());
                default:
                    throw new IllegalStateException("unknown CPU exit " + exit);
            }
        }
    }

    @Override
    public void kick() {
        kicked = true;
        cpu.requestExit();
    }

    @Override
    public void clearKick() {
        kicked = false;
    }

    @Override
    public void nmi() {
        cpu.nmi();
    }

    @Override
    public String describe() {
        return cpu.state().describe() + "\n" + cpu.recentInstructions();
    }

    @Override
    public void close() {
        kick();
    }

    /** Where the instructions ran (interpreted or translated) and what the code cache did. */
    public String statistics() {
        return cpu.statistics();
    }
}
