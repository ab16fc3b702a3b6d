/* Local APIC and IOAPIC from CPL3 (MMIO, user pages), the interrupt test, cost facts. */
#include "kit.h"

u32 lapic_read(u32 reg) { return mmio_read32(kinfo.lapic_base + reg); }
void lapic_write(u32 reg, u32 v) { mmio_write32(kinfo.lapic_base + reg, v); }

static u32 ioapic_read(u64 base, u32 reg) { mmio_write32(base, reg); return mmio_read32(base + 0x10); }
static void ioapic_write(u64 base, u32 reg, u32 v) { mmio_write32(base, reg); mmio_write32(base + 0x10, v); }

/* Route ISA IRQ `irq` to `vec` on the BSP; returns the redirection entry register or -1. */
static int ioapic_route(int irq, int vec, u64 *base_out, u32 *gsi_out)
{
    u32 gsi = (u32)irq;
    u16 flags = 0;
    for (int i = 0; i < acpi.niso; i++)
        if (acpi.iso[i].src == irq) { gsi = acpi.iso[i].gsi; flags = acpi.iso[i].flags; }
    for (int i = 0; i < acpi.nioapic; i++) {
        u64 base = acpi.ioapic[i].addr;
        u32 nred = ((ioapic_read(base, 1) >> 16) & 0xff) + 1;
        if (gsi < acpi.ioapic[i].gsi_base || gsi >= acpi.ioapic[i].gsi_base + nred) continue;
        u32 idx = gsi - acpi.ioapic[i].gsi_base;
        u32 lo = (u32)vec;
        if ((flags & 3) == 3) lo |= 1 << 13;            /* active low */
        if (((flags >> 2) & 3) == 3) lo |= 1 << 15;     /* level */
        ioapic_write(base, 0x11 + 2 * idx, kinfo.bsp_apic_id << 24);
        ioapic_write(base, 0x10 + 2 * idx, lo);
        *base_out = base;
        *gsi_out = gsi;
        return (int)(0x10 + 2 * idx);
    }
    return -1;
}

static int wait_for(volatile u32 *ctr, u32 n, u64 us)
{
    u64 t = now_us() + us;
    while (*ctr < n)
        if (now_us() > t) return 0;
        else cpu_relax();
    return 1;
}

void test_irq(void)
{
    /* LAPIC timer: periodic, ~1 ms at KVM's 1 GHz APIC bus with divide-by-16 */
    kinfo.timer_ticks = 0;
    lapic_write(0x3e0, 0x3);
    lapic_write(0x320, VEC_TIMER | (1 << 17));
    lapic_write(0x380, 62500);
    wait_for(&kinfo.timer_ticks, 10, 2000000);
    lapic_write(0x320, 1 << 16);
    lapic_write(0x380, 0);
    u32 timer = kinfo.timer_ticks;

    /* UART THR-empty interrupt through the IOAPIC */
    u32 uart = 0;
    const char *why = NULL;
    if (!acpi.nioapic) why = "no IOAPIC in the MADT";
    else {
        u64 base; u32 gsi;
        int reg = ioapic_route(4, VEC_UART, &base, &gsi);
        if (reg < 0) why = "GSI for IRQ 4 not on any IOAPIC";
        else {
            kinfo.uart_irqs = 0;
            outb(COM1 + 4, 0x0b);               /* OUT2 gates the IRQ line on a PC */
            outb(COM1 + 1, 0x02);               /* IER: THR empty */
            wait_for(&kinfo.uart_irqs, 1, 1000000);
            outb(COM1 + 1, 0x00);
            ioapic_write(base, (u32)reg, 1 << 16);
            uart = kinfo.uart_irqs;
        }
    }
    if (timer < 3) kprintf("KIT irq fail timer=%u uart=%u (LAPIC timer interrupts missing)", timer, uart);
    else if (why) kprintf("KIT irq fail timer=%u uart=%u (%s)", timer, uart, why);
    else if (!uart) kprintf("KIT irq fail timer=%u uart=0 (no UART interrupt through the IOAPIC)", timer);
    else kprintf("KIT irq ok timer=%u uart=%u", timer, uart);
}

/* Round-trip costs seen from CPL3 (optional test "facts"). */
void test_facts(void)
{
    const int n = 200;
    u64 t0 = rdtsc();
    for (int i = 0; i < n; i++) kit_syscall(SYS_NOP, 0);
    u64 t1 = rdtsc();
    for (int i = 0; i < n; i++) (void)inb(COM1 + 7);       /* scratch register */
    u64 t2 = rdtsc();
    for (int i = 0; i < n; i++) (void)lapic_read(0x30);    /* LAPIC version: MMIO */
    u64 t3 = rdtsc();
    for (int i = 0; i < n; i++) {
        long a = 0;
        __asm__ volatile("syscall" : "+a"(a) : : "rcx", "r11", "memory");
    }
    u64 t4 = rdtsc();
    u32 ea, eb, ec, ed;
    cpuid(0x80000001, 0, &ea, &eb, &ec, &ed);
    u64 k = tsc_hz / 1000000ul ? tsc_hz / 1000000ul : 1;      /* cycles per us */
    kprintf("KIT facts ok int80_ns=%lu int80_via_ud=%d syscall_sysret_ns=%lu pio_ns=%lu lapic_mmio_ns=%lu tsc_mhz=%lu gbpages_cpl0=%d gbpages_cpl3=%u sysret_gp_cs=0x%x",
            (t1 - t0) * 1000 / k / n, kinfo.int80_via_ud, (t4 - t3) * 1000 / k / n, (t2 - t1) * 1000 / k / n,
            (t3 - t2) * 1000 / k / n, tsc_hz / 1000000, kinfo.gbpages, (ed >> 26) & 1, kinfo.sysret_gp_cs);
}
