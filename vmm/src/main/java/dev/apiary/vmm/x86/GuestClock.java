package dev.apiary.vmm.x86;

/**
 * The guest's time base, shared by every vCPU and the local APICs of one VM: the TSC counts at
 * {@link #tscHz()} from the VM's creation, derived from the host's monotonic clock, so RDTSC and the
 * TSC-deadline timer agree with each other and with wall time.
 */
public final class GuestClock {
    /** The advertised TSC (and CPUID 0x15/0x16) frequency. */
    public static final long DEFAULT_TSC_HZ = 1_000_000_000L;

    private final long epochNanos;
    private final long tscHz;

    public GuestClock(long tscHz) {
        this.epochNanos = System.nanoTime();
        this.tscHz = tscHz;
    }

    public GuestClock() {
        this(DEFAULT_TSC_HZ);
    }

    public long tscHz() {
        return tscHz;
    }

    /** The TSC now (before any per-vCPU offset a guest wrote through IA32_TSC). */
    public long tsc() {
        return toTsc(System.nanoTime());
    }

    /** TSC ticks at host time {@code nanos}. */
    public long toTsc(long nanos) {
        long dn = nanos - epochNanos;
        return tscHz == 1_000_000_000L ? dn : (long) (dn * (tscHz / 1e9));
    }

    /** The host time (System.nanoTime) at which the TSC reaches {@code tsc}. */
    public long toNanos(long tsc) {
        return tscHz == 1_000_000_000L ? epochNanos + tsc : epochNanos + (long) (tsc * (1e9 / tscHz));
    }
}
