package dev.apiary.vmm.x86;

/**
 * The vCPU's local interrupt controller (the local APIC, which also forwards the 8259's ExtINT), as the CPU
 * sees it at an instruction boundary. Implemented in {@code dev.apiary.vmm.intc}; tests may implement it
 * with a queue. All methods are called on the vCPU's own thread.
 */
public interface LocalInterrupts {
    /**
     * Whether a maskable interrupt is ready to be taken now (IRR above the processor priority, or ExtINT).
     * The CPU asks only when RFLAGS.IF is set and no interrupt shadow (STI, MOV SS) is in effect.
     */
    boolean hasInterrupt();

    /**
     * The interrupt-acknowledge cycle: the controller moves the highest pending vector into service and
     * returns it, or returns -1 when nothing is pending any more (the CPU then takes nothing).
     */
    int acknowledge();

    /**
     * Called by the CPU at instruction-block boundaries with the current host time, so timers (the LVT
     * timer) can fire on the vCPU's own thread. Returns the host time in nanoseconds of the next timer event,
     * or {@link Long#MAX_VALUE} when none is armed: a halted vCPU sleeps at most until then.
     */
    long poll(long nowNanos);

    /** Reads of the APIC base MSR (IA32_APIC_BASE, 0x1B). */
    long apicBase();

    /** WRMSR IA32_APIC_BASE; returns false if the value is invalid (the CPU raises #GP). */
    boolean setApicBase(long value);

    /** The task-priority register as CR8 sees it (TPR bits 7:4). */
    int cr8();

    void setCr8(int value);

    /** TSC-deadline MSR (0x6E0) read and write, in TSC ticks of the CPU's {@link GuestClock}. */
    long tscDeadline();

    void setTscDeadline(long tsc);

    /** Nothing to deliver, ever: a uniprocessor test CPU without an APIC. */
    LocalInterrupts NONE = new LocalInterrupts() {
        public boolean hasInterrupt() {
            return false;
        }

        public int acknowledge() {
            return -1;
        }

        public long poll(long nowNanos) {
            return Long.MAX_VALUE;
        }

        public long apicBase() {
            return 0xFEE0_0000L | (1 << 11) | (1 << 8);
        }

        public boolean setApicBase(long value) {
            return true;
        }

        public int cr8() {
            return 0;
        }

        public void setCr8(int value) {}

        public long tscDeadline() {
            return 0;
        }

        public void setTscDeadline(long tsc) {}
    };
}
