/* SMP bring-up: INIT/SIPI/SIPI to every AP in the MADT, from CPL3 through the LAPIC ICR. */
#include "kit.h"


static int icr_idle(void)
{
    u64 t = now_us() + 100000;
    while (lapic_read(0x300) & (1 << 12))
        if (now_us() > t) return 0;
    return 1;
}

static void ipi(u32 apic, u32 lo)
{
    lapic_write(0x310, apic << 24);
    lapic_write(0x300, lo);
    icr_idle();
}

void test_cpus(void)
{
    if (!acpi.madt_found) { kprintf("KIT cpus fail no MADT"); return; }
    u32 bsp = kinfo.bsp_apic_id;
    if (cpus_online == 0) {
        cpus_online = 1;
        cpu_apic[0] = bsp;
        kprintf("KIT cpu-online apic=%u", bsp);
    }
    /* the trampoline page must be RAM */
    const struct e820_entry *e = (const struct e820_entry *)(bootparams + BP_E820_TABLE);
    int ram = 0;
    for (int i = 0; i < BP8(bootparams, BP_E820_ENTRIES); i++)
        if (e[i].type == 1 && e[i].addr <= TRAMP_BASE && e[i].addr + e[i].size >= TRAMP_BASE + 4096) ram = 1;
    if (!ram) { kprintf("KIT cpus fail trampoline page 0x%x is not RAM", TRAMP_BASE); return; }
    memcpy((void *)TRAMP_BASE, tramp_start, (size_t)(tramp_end - tramp_start));
    for (int i = 0; i < acpi.nlapic; i++) {
        u32 id = acpi.apic_ids[i];
        if (id == bsp) continue;
        if (id > 0xfe) { kprintf("KIT cpus fail apic id %u needs x2APIC", id); continue; }
        u32 before = cpus_online;
        ipi(id, 0x4500);                    /* INIT, level assert */
        udelay(10000);
        ipi(id, 0x4600 | (TRAMP_BASE >> 12));   /* SIPI */
        udelay(200);
        if (cpus_online == before)
            ipi(id, 0x4600 | (TRAMP_BASE >> 12));
        u64 t = now_us() + 3000000;
        while (cpus_online == before && now_us() < t)
            cpu_relax();
        if (cpus_online == before)
            kprintf("KIT cpu-timeout apic=%u", id);
    }
    u32 m = cpus_online;
    if ((int)m != acpi.nlapic)
        kprintf("KIT cpus fail madt=%d smp=%u", acpi.nlapic, m);
    else
        kprintf("KIT cpus ok madt=%d smp=%u", acpi.nlapic, m);
}
