/*
 * CPL0 part of the kit: everything here runs in KVM's instruction emulator on
 * this host, so it is kept tiny.  Page tables, GDT/TSS/IDT, LAPIC, traps
 * (port-I/O emulation for CPL3, interrupts, int $0x80 requests, panics).
 */
#include "kit.h"

struct frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vec, err, rip, cs, rflags, rsp, ss;
};

struct tss64 {
    u32 rsv0; u64 rsp0, rsp1, rsp2; u64 rsv1; u64 ist[7]; u64 rsv2; u16 rsv3; u16 iomap;
} PACKED;

extern u64 pml4[512], pdpt[512], pds[NPD][512], idt[512], gdt[];
extern u8 kstacks[MAXCPU][KSTACK_SIZE], ustacks[MAXCPU][USTACK_SIZE];
extern struct tss64 tss[MAXCPU];
extern char trap_stubs[], gp_entry[];
void enter_user(void (*entry)(u64), u64 stack_top, u64 arg) __attribute__((noreturn));
void user_main(u64 zp);
void user_ap_main(u64 idx);

struct kinfo kinfo __kdata = { .s5_typ = -1 };
volatile u32 kinfo_ap_next __kdata = 1;

static inline u64 rdmsr(u32 msr) { u32 lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return ((u64)hi << 32) | lo; }
static inline void wrmsr(u32 msr, u64 v) { __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32))); }
void sysret_probe(void);
static inline u64 read_cr0(void) { u64 v; __asm__ volatile("mov %%cr0,%0" : "=r"(v)); return v; }
static inline u64 read_cr2(void) { u64 v; __asm__ volatile("mov %%cr2,%0" : "=r"(v)); return v; }
static inline u64 read_cr4(void) { u64 v; __asm__ volatile("mov %%cr4,%0" : "=r"(v)); return v; }

static void lapic_eoi(void) { mmio_write32(kinfo.lapic_base + 0xb0, 0); }

static void __attribute__((noreturn)) halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* CPL0 power-off, used by panics: ACPI S5 if acpi_init found it, else halt. */
static void __attribute__((noreturn)) poweroff0(void)
{
    if (kinfo.s5_typ >= 0) {
        u16 v = (u16)((kinfo.s5_typ & 7) << 10) | (1 << 13);
        if (kinfo.pm1a_cnt) outw(kinfo.pm1a_cnt, v);
        if (kinfo.pm1b_cnt) outw(kinfo.pm1b_cnt, v);
        if (kinfo.sleep_ctl) {
            u8 sv = (u8)(((kinfo.s5_typ & 7) << 2) | (1 << 5));
            if (kinfo.sleep_ctl_io) outb((u16)kinfo.sleep_ctl, sv);
            else *(volatile u8 *)kinfo.sleep_ctl = sv;
        }
    }
    kputs_raw("KIT panic poweroff failed, halting\r\n");
    halt_forever();
}

static void __attribute__((noreturn)) panic(struct frame *f)
{
    char buf[160];
    snprintf(buf, sizeof buf, "\r\nKIT panic vector=%lu rip=0x%lx err=0x%lx cpl=%lu\r\n",
             f->vec, f->rip, f->err, f->cs & 3);
    kputs_raw(buf);
    if (f->vec == 14) {
        snprintf(buf, sizeof buf, "KIT panic-info cr2=0x%lx rsp=0x%lx\r\n", read_cr2(), f->rsp);
        kputs_raw(buf);
    }
    poweroff0();
}

/* Perform IN/OUT for CPL3 (IOPL is not honoured on this host). 1 = handled. */
static int emulate_pio(struct frame *f)
{
    const u8 *p = (const u8 *)f->rip;
    int len = 1, op16 = 0;
    if (p[0] == 0x66) { op16 = 1; p++; len++; }
    u8 op = p[0];
    u16 port;
    if (op >= 0xe4 && op <= 0xe7) { port = p[1]; len++; }
    else if (op >= 0xec && op <= 0xef) port = (u16)f->rdx;
    else return 0;
    int size = (op & 1) ? (op16 ? 2 : 4) : 1;
    if (op & 2) {
        if (size == 1) outb(port, (u8)f->rax);
        else if (size == 2) outw(port, (u16)f->rax);
        else outl(port, (u32)f->rax);
    } else {
        if (size == 1) f->rax = (f->rax & ~0xfful) | inb(port);
        else if (size == 2) f->rax = (f->rax & ~0xfffful) | inw(port);
        else f->rax = inl(port);            /* 32-bit results zero-extend */
    }
    f->rip += len;
    return 1;
}

static void do_syscall(struct frame *f)
{
    switch (f->rax) {
    case SYS_NOP:
        f->rax = 0;
        return;
    case SYS_PARK:
        halt_forever();
    case SYS_TRIPLEFAULT: {
        struct { u16 limit; u64 base; } PACKED z = { 0, 0 };
        __asm__ volatile("lidt %0; ud2" : : "m"(z));
        halt_forever();
    }
    case SYS_WAIT_IRQ:
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        f->rax = 0;
        return;
    case SYS_WAIT_CHANGE:
        if (*(volatile u32 *)f->rdi == (u32)f->rsi)
            __asm__ volatile("sti; hlt; cli" ::: "memory");
        f->rax = 0;
        return;
    case SYS_RDMSR:
        f->rax = rdmsr((u32)f->rdi);
        return;
    }
    f->rax = (u64)-1;
}

void trap_dispatch(struct frame *f)
{
    switch (f->vec) {
    case 13:
        if ((f->cs & 3) == 3 && emulate_pio(f))
            return;
        if (f->rip == (u64)sysret_probe) {
            /* see test_facts: the probe's sysretq faults here; finish it by hand */
            kinfo.sysret_gp_cs = (u32)f->cs;
            kinfo.sysret_gp_ss = (u32)f->ss;
            f->rip = f->rcx;
            f->rflags = f->r11 | 0x200;
            f->cs = SEL_UCODE | 3;
            f->ss = SEL_UDATA | 3;
            return;
        }
        break;
    case 6:
        /* On this host `int $0x80` at CPL3 arrives as #UD on the int instruction
           instead of through the IDT gate: treat it as the syscall it is. */
        if ((f->cs & 3) == 3 && ((const u8 *)f->rip)[0] == 0xcd && ((const u8 *)f->rip)[1] == VEC_SYSCALL) {
            kinfo.int80_via_ud = 1;
            f->rip += 2;
            do_syscall(f);
            return;
        }
        break;
    case 14:
        /* cpubench: a CPL3 load from the probe page (8b 07, 2 bytes) is skipped and counted */
        if ((f->cs & 3) == 3 && (read_cr2() >> 12) == (0x00007f0000000000ul >> 12)) {
            kinfo.pf_probe_hits++;
            f->rip += 2;
            return;
        }
        break;
    case VEC_TIMER:
        __atomic_add_fetch(&kinfo.timer_ticks, 1, __ATOMIC_RELAXED);
        lapic_eoi();
        return;
    case VEC_UART:
        (void)inb(COM1 + 2);    /* IIR: acknowledges THR empty */
        outb(COM1 + 1, 0);      /* one-shot: IER off again */
        __atomic_add_fetch(&kinfo.uart_irqs, 1, __ATOMIC_RELAXED);
        lapic_eoi();
        return;
    case VEC_SPURIOUS:
        return;
    case VEC_WAKE:
        lapic_eoi();
        return;
    case VEC_SYSCALL:
        do_syscall(f);
        return;
    }
    if (f->vec >= 32) {
        __atomic_add_fetch(&kinfo.vec_count[f->vec], 1, __ATOMIC_RELAXED);
        if (f->vec < VEC_DYN_BASE || f->vec >= VEC_DYN_END)
            __atomic_add_fetch(&kinfo.stray_irqs, 1, __ATOMIC_RELAXED);
        lapic_eoi();
        return;
    }
    panic(f);
}

/* Identity map: 0..max(4 GiB, top of RAM), user-accessible, 3-4 GiB uncached except RAM. */
static void build_page_tables(u8 *zp)
{
    const struct e820_entry *e = (const struct e820_entry *)(zp + BP_E820_TABLE);
    int n = BP8(zp, BP_E820_ENTRIES);
    u64 top = 4ul << 30, low_top = 0;
    if (n > E820_MAX) n = E820_MAX;
    for (int i = 0; i < n; i++) {
        u64 end = e[i].addr + e[i].size;
        if (e[i].type == 1 && end > top) top = end;
        if (e[i].type == 1 && e[i].addr < (4ul << 30) && end > low_top) low_top = end;
    }
    u32 a, b, c, d;
    cpuid(0x80000001, 0, &a, &b, &c, &d);
    int gb = (d >> 26) & 1;
    kinfo.gbpages = gb;
    u64 ngib = (top + (1ul << 30) - 1) >> 30;
    if (ngib > 512) ngib = 512;
    if (!gb && ngib > NPD) ngib = NPD;
    kinfo.low_top = low_top;
    kinfo.mapped_top = ngib << 30;
    int pdi = 0;
    for (u64 g = 0; g < 512; g++) {
        if (g >= ngib) { pdpt[g] = 0; continue; }
        if (gb && g != 3) { pdpt[g] = (g << 30) | 0x87; continue; }
        u64 *pd = pds[pdi++];
        for (u64 j = 0; j < 512; j++) {
            u64 pa = (g << 30) | (j << 21);
            u64 fl = 0x87;
            if (g == 3 && pa >= low_top) fl |= 0x18;    /* PCD|PWT: MMIO hole */
            pd[j] = pa | fl;
        }
        pdpt[g] = (u64)pd | 0x07;
    }
    pml4[0] = (u64)pdpt | 0x07;
    for (int i = 1; i < 512; i++) pml4[i] = 0;
    __asm__ volatile("mov %0,%%cr3" : : "r"((u64)pml4) : "memory");
}

static void build_idt(void)
{
    for (u64 v = 0; v < 256; v++) {
        u64 h = v == 13 ? (u64)gp_entry : (u64)trap_stubs + 16 * v;
        u64 dpl = (v == VEC_SYSCALL) ? 3 : 0;
        idt[2 * v] = (h & 0xffff) | ((u64)SEL_KCODE << 16) | ((0x8eul | (dpl << 5)) << 40) | ((h >> 16 & 0xffff) << 48);
        idt[2 * v + 1] = h >> 32;
    }
}

static void cpu_setup(u32 idx)
{
    struct tss64 *t = &tss[idx];
    memset(t, 0, sizeof *t);
    t->rsp0 = (u64)kstacks[idx] + KSTACK_SIZE;
    t->iomap = sizeof(struct tss64);
    u64 base = (u64)t, lim = sizeof(struct tss64) - 1;
    u64 *desc = &gdt[SEL_TSS0 / 8 + 2 * idx];
    desc[0] = (lim & 0xffff) | ((base & 0xffffff) << 16) | (0x89ul << 40) | (((base >> 24) & 0xff) << 56);
    desc[1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS0 + 16 * idx));
    struct { u16 limit; u64 base; } PACKED idtr = { 256 * 16 - 1, (u64)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
    /* CR0: PE MP ET NE WP PG */
    __asm__ volatile("mov %0,%%cr0" : : "r"((read_cr0() & ~0x6000000cul) | 0x80010033ul));
    /* CR4: keep PAE, clear TSD (rdtsc at CPL3), PCIDE, SMEP, SMAP, PKE (CPL0 reads user memory) */
    __asm__ volatile("mov %0,%%cr4" : : "r"((read_cr4() & ~((1ul << 2) | (1ul << 17) | (1ul << 20) | (1ul << 21) | (1ul << 22))) | 0x20));
    /* local APIC: software-enable, spurious vector 0xff */
    u64 apicbase = rdmsr(0x1b);
    if (!(apicbase & (1 << 11))) {
        apicbase |= 1 << 11;
        __asm__ volatile("wrmsr" : : "c"(0x1b), "a"((u32)apicbase), "d"((u32)(apicbase >> 32)));
    }
    kinfo.lapic_base = apicbase & 0xffffff000ul;
    mmio_write32(kinfo.lapic_base + 0x80, 0);                  /* TPR */
    mmio_write32(kinfo.lapic_base + 0xf0, 0x100 | VEC_SPURIOUS);
}

void __attribute__((noreturn)) kmain0(u8 *zp)
{
    kinfo.zp = zp;
    uart_init();
    /* first guest marker: straight from the zero page */
    const char *cl = (const char *)(BP32(zp, BP_CMDLINE_PTR) | ((u64)BP32(zp, BP_EXT_CMDLINE) << 32));
    kputs_raw("KIT start cmdline=\"");
    if (cl) {
        for (int i = 0; cl[i] && i < 4095; i++) uart_putc(cl[i]);
    }
    kputs_raw("\"\r\n");
    build_page_tables(zp);
    build_idt();
    cpu_setup(0);
    /* syscall/sysret: only a probe (LSTAR -> sysret_probe returns at once), see test_facts */
    wrmsr(0xc0000081, ((u64)(SEL_UCODE32 | 3) << 48) | ((u64)SEL_KCODE << 32));
    wrmsr(0xc0000082, (u64)sysret_probe);
    wrmsr(0xc0000084, 0x200);
    wrmsr(0xc0000080, rdmsr(0xc0000080) | 1);
    kinfo.bsp_apic_id = mmio_read32(kinfo.lapic_base + 0x20) >> 24;
    outb(0x21, 0xff);           /* mask the 8259s: interrupts come through the IOAPIC */
    outb(0xa1, 0xff);
    enter_user(user_main, (u64)ustacks[0] + USTACK_SIZE, (u64)zp);
}

void __attribute__((noreturn)) ap_main0(u32 idx)
{
    if (idx >= MAXCPU) halt_forever();
    cpu_setup(idx);
    enter_user(user_ap_main, (u64)ustacks[idx] + USTACK_SIZE, idx);
}
