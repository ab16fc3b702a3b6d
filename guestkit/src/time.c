/* TSC-based time at CPL3, calibrated against the ACPI PM timer when there is one. */
#include "kit.h"

u64 tsc_hz;
static u64 tsc0;

void time_init(void)
{
    u32 a, b, c, d;
    tsc0 = rdtsc();
    if (acpi.pm_tmr) {
        u32 mask = acpi.tmr32 ? 0xffffffffu : 0xffffffu;
        u32 p0 = inl((u16)acpi.pm_tmr) & mask;
        u64 t0 = rdtsc();
        u32 p1; u64 t1;
        do { p1 = inl((u16)acpi.pm_tmr) & mask; t1 = rdtsc(); } while (((p1 - p0) & mask) < 35795);
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
