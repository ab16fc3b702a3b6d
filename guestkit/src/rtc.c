/* CMOS/RTC and the ACPI PM timer. */
#include "kit.h"

u8 cmos_read(u8 reg) { outb(0x70, reg & 0x7f); return inb(0x71); }
void cmos_write(u8 reg, u8 val) { outb(0x70, reg & 0x7f); outb(0x71, val); }

static int wait_uip_clear(void)
{
    u64 t = now_us() + 100000;
    while (cmos_read(0x0a) & 0x80)
        if (now_us() > t) return 0;
    return 1;
}

static u32 bcd(u32 v) { return (v & 0x0f) + (v >> 4) * 10; }

void test_rtc(void)
{
    if (cmos_read(0x0a) == 0xff && cmos_read(0x0b) == 0xff) { kprintf("KIT rtc fail no RTC (CMOS reads 0xff)"); return; }
    u8 r[7], r2[7];
    int tries = 0;
    do {
        if (!wait_uip_clear()) { kprintf("KIT rtc fail update-in-progress never clears"); return; }
        r[0] = cmos_read(0x00); r[1] = cmos_read(0x02); r[2] = cmos_read(0x04);
        r[3] = cmos_read(0x07); r[4] = cmos_read(0x08); r[5] = cmos_read(0x09);
        r[6] = acpi.century ? cmos_read(acpi.century) : 0;
        if (!wait_uip_clear()) { kprintf("KIT rtc fail update-in-progress never clears"); return; }
        r2[0] = cmos_read(0x00); r2[1] = cmos_read(0x02); r2[2] = cmos_read(0x04);
        r2[3] = cmos_read(0x07); r2[4] = cmos_read(0x08); r2[5] = cmos_read(0x09);
        r2[6] = acpi.century ? cmos_read(acpi.century) : 0;
    } while (memcmp(r, r2, 7) && ++tries < 5);
    u8 b = cmos_read(0x0b);
    int pm = r[2] & 0x80;
    u32 v[7];
    for (int i = 0; i < 7; i++) v[i] = r[i];
    v[2] &= 0x7f;
    if (!(b & 0x04)) for (int i = 0; i < 7; i++) v[i] = bcd(v[i]);
    if (!(b & 0x02)) {                  /* 12-hour mode */
        if (v[2] == 12) v[2] = 0;
        if (pm) v[2] += 12;
    }
    u32 year = (v[6] ? v[6] : 20) * 100 + v[5];
    if (v[0] > 59 || v[1] > 59 || v[2] > 23 || v[3] < 1 || v[3] > 31 || v[4] < 1 || v[4] > 12) {
        kprintf("KIT rtc fail implausible time %02x:%02x:%02x %02x-%02x-%02x regB=0x%x",
                r[2], r[1], r[0], r[5], r[4], r[3], b);
        return;
    }
    kprintf("KIT rtc ok %04u-%02u-%02uT%02u:%02u:%02uZ", year, v[4], v[3], v[2], v[1], v[0]);
}

/* wait for the RTC seconds register to change; 0 on timeout */
static int next_second(void)
{
    u8 s = cmos_read(0x00);
    u64 t = now_us() + 2500000;
    while (cmos_read(0x00) == s)
        if (now_us() > t) return 0;
    return 1;
}

/* PM timer ticks from one RTC seconds change to the next; 0 on timeout. The PM timer is read right
   after each change is seen, so a preemption of the vCPU between seeing a change and reading the timer
   moves one end of the interval: hence the median of three intervals below. */
static u64 pm_ticks_in_a_second(u16 port, u32 mask)
{
    if (!next_second()) return 0;
    u32 last = inl(port) & mask;
    u64 ticks = 0;
    u8 s = cmos_read(0x00);
    u64 until = now_us() + 2500000;
    for (;;) {
        /* sample often enough to see wraps of a 24-bit counter (4.7 s) anyway */
        u32 now = inl(port) & mask;
        ticks += (now - last) & mask;
        last = now;
        if (cmos_read(0x00) != s) break;
        if (now_us() > until) return 0;
    }
    u32 now = inl(port) & mask;
    return ticks + ((now - last) & mask);
}

void test_pmtimer(void)
{
    if (!acpi.pm_tmr) { kprintf("KIT pmtimer fail no PM timer in the FADT"); return; }
    u16 port = (u16)acpi.pm_tmr;
    u32 mask = acpi.tmr32 ? 0xffffffffu : 0xffffffu;
    u64 t[3];
    for (int i = 0; i < 3; i++)
        if (!(t[i] = pm_ticks_in_a_second(port, mask))) { kprintf("KIT pmtimer fail RTC seconds do not advance"); return; }
    /* median of three */
    u64 ticks = t[0] > t[1] ? (t[1] > t[2] ? t[1] : (t[0] > t[2] ? t[2] : t[0]))
                            : (t[0] > t[2] ? t[0] : (t[1] > t[2] ? t[2] : t[1]));
    if (ticks < 3579545ul * 97 / 100 || ticks > 3579545ul * 103 / 100)
        kprintf("KIT pmtimer fail hz=%lu (expected 3579545 +-3%%; seconds measured %lu %lu %lu)", ticks, t[0], t[1], t[2]);
    else
        kprintf("KIT pmtimer ok hz=%lu", ticks);
}

/*
 * PIT channel 2 through port 0x61, the way Linux's pit_calibrate_tsc uses it: gate high and speaker off in
 * port 0x61, channel 2 in mode 0 with a 10 ms count, then poll port 0x61 bit 5 (OUT2) until it goes high.
 * A VMM that leaves port 0x61 unclaimed reads 0xff: OUT2 looks high at once.
 */
void test_pit(void)
{
    const u32 count = 11932;                    /* 10 ms at 1.193182 MHz */
    u8 saved = inb(0x61);
    outb(0x61, (u8)((saved & ~0x02) | 0x01));
    outb(0x43, 0xb0);                           /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(0x42, (u8)(count & 0xff));
    outb(0x42, (u8)(count >> 8));
    u64 t0 = rdtsc();
    u8 first = inb(0x61);
    u64 polls = 1;
    while (!(inb(0x61) & 0x20)) {
        if (++polls > 50000000ul) break;
    }
    u64 t1 = rdtsc();
    outb(0x61, saved);
    u64 us = (t1 - t0) * 1000000ul / (tsc_hz ? tsc_hz : 1);
    if (first == 0xff)
        kprintf("KIT pit fail port 0x61 reads 0xff (unclaimed)");
    else if (first & 0x20)
        kprintf("KIT pit fail OUT2 high right after the count was loaded (port61=0x%x)", first);
    else if (polls > 50000000ul)
        kprintf("KIT pit fail OUT2 never went high (port61=0x%x)", first);
    else if (us < 9000 || us > 200000)
        kprintf("KIT pit fail 10 ms count took %lu us", us);
    else
        kprintf("KIT pit ok us=%lu polls=%lu", us, polls);
}
