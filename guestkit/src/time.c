/* TSC-based time at CPL3, calibrated against the ACPI PM timer when there is one. */
#include "kit.h"

u64 tsc_hz;
static u64 tsc0;

static void pm_sample(u16 port, u32 mask, u32 *pm, u64 *tsc)
{
    u64 best = ~0ul;
    for (int i = 0; i < 4; i++) {
        u64 a = rdtsc();
        u32 v = inl(port) & mask;
        u64 b = rdtsc();
        if (b - a < best) { best = b - a; *pm = v; *tsc = a + (b - a) / 2; }
    }
}

void time_init(void)
{
    u32 a, b, c, d;
    tsc0 = rdtsc();
    if (acpi.pm_tmr) {
        /* Calibrate over ~50 ms. Each PM timer read traps to the VMM (~0.1 ms), and the vCPU may be
           preempted between the read and rdtsc on a loaded host: bracket every read with two TSC reads and
           keep, of a few tries, the read with the narrowest bracket. */
        u32 mask = acpi.tmr32 ? 0xffffffffu : 0xffffffu;
        u32 p0 = 0, p1 = 0;
        u64 t0 = 0, t1 = 0;
        pm_sample((u16)acpi.pm_tmr, mask, &p0, &t0);
        do { pm_sample((u16)acpi.pm_tmr, mask, &p1, &t1); } while (((p1 - p0) & mask) < 178977);
        tsc_hz = (t1 - t0) * 3579545ul / ((p1 - p0) & mask);
        return;
    }
    cpuid(0, 0, &a, &b, &c, &d);
    if (a >= 0x16) {
        cpuid(0x16, 0, &a, &b, &c, &d);
        if (a) { tsc_hz = (u64)a * 1000000ul; return; }
    }
    tsc_hz = 2000000000ul;      /* a guess; timeouts only */
}

u64 now_us(void) { return (rdtsc() - tsc0) * 1000000ul / (tsc_hz ? tsc_hz : 1); }
void udelay(u64 us) { u64 t = now_us() + us; while (now_us() < t) cpu_relax(); }
