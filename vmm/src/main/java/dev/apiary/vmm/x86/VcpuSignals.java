package dev.apiary.vmm.x86;

/**
 * What the interrupt controllers may tell a vCPU from any thread (a device thread, another vCPU sending an
 * IPI, a timer). Each call is cheap and thread-safe, and wakes the vCPU if it is halted or waiting for SIPI;
 * the CPU acts on it at its next instruction boundary.
 */
public interface VcpuSignals {
    /** The local APIC has a new interrupt to offer (or the ExtINT line rose): look at {@link LocalInterrupts}. */
    void interruptPending();

    /** An NMI (ICR delivery mode NMI, LINT1, the control API). */
    void nmi();

    /** INIT: the CPU goes to its wait-for-SIPI state (an INIT on the BSP resets it as on a PC). */
    void init();

    /** Start-up IPI: a CPU waiting for SIPI starts in real mode at {@code vector << 12}; otherwise ignored. */
    void startup(int vector);
}
