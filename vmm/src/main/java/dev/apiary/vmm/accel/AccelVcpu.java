package dev.apiary.vmm.accel;

import dev.apiary.vmm.boot.BootState;
import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.cpu.GuestStop;

/**
 * One virtual CPU. {@link #run} is called on the vCPU's own thread and returns only when the guest's run is
 * over (a {@link GuestStop}) or when {@link #kick} was called; everything else (port and MMIO accesses,
 * halts, interrupts) is handled inside.
 */
public interface AccelVcpu extends AutoCloseable {
    int index();

    /** Power-on state (at creation and at every machine reset): MSRs, FPU, local APIC in virtual-wire mode. */
    void powerOn();

    /** The boot processor's entry state from the boot loader. */
    void enter(BootState boot);

    /**
     * The boot processor starts where a PC's does, for firmware: the RESET state (SDM Vol. 3A 9.1.1, Table 9-1),
     * real mode at F000:FFF0 with the CS base 0xFFFF0000, so the first fetch is at 0xFFFFFFF0.
     */
    void enterResetVector();

    /** An application processor: waits for INIT/SIPI from the boot processor, as on a PC. */
    void waitForStartup();

    /**
     * Runs the guest until its run is over or {@link #kick} is called. Returns the reason the guest stopped, or
     * null after a kick.
     */
    GuestStop run(Bus ports, Bus mmio);

    /** From any thread: makes {@link #run} return null soon (at once if it is not running: the next run returns at once). */
    void kick();

    /** Clears a kick that was not consumed by a run (before starting the vCPU thread again). */
    void clearKick();

    /** From any thread: delivers an NMI. */
    void nmi();

    /** Registers and the last instructions, for failure reports (may be empty where not available). */
    String describe();

    @Override
    void close();
}
