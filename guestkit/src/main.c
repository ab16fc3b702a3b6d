/* CPL3 main: command line, test dispatch, exit actions. */
#include "kit.h"

u8 bootparams[4096];
char cmdline[4096];
static char tests_arg[512] = "banner,cpus,e820,pci,acpi,rtc,pmtimer,irq,bootparams";
static char exit_arg[32] = "poweroff";
static char cmos_arg[16] = "0x5e";     /* boot counter byte: QEMU's pc keeps smp-1 in 0x5f for SeaBIOS */
volatile u32 cpus_online;
u32 cpu_apic[MAXCPU];

/* Work posted by the BSP to an AP: the AP sleeps in SYS_WAIT_CHANGE on `seq`, the BSP wakes it
   with a VEC_WAKE IPI; `done` = the seq the AP finished. */
static struct cpu_work {
    volatile u32 seq, done;
    cpu_work_fn fn;
    void *arg;
} __attribute__((aligned(64))) cpu_work[MAXCPU];

void opt(const char *key, char *dst, size_t n)
{
    size_t kl = strlen(key);
    for (const char *p = cmdline; *p; ) {
        while (*p == ' ') p++;
        if (!strncmp(p, key, kl)) {
            size_t i = 0;
            p += kl;
            while (*p && *p != ' ' && i + 1 < n) dst[i++] = *p++;
            dst[i] = 0;
        }
        while (*p && *p != ' ') p++;
    }
}

static void test_banner(void)
{
    kprintf("KIT banner Apiary guest kit " KIT_VERSION);
    kprintf("Hello from the Apiary guest kit: x86-64, checks at CPL3, %s pages, TSC %lu MHz",
            kinfo.gbpages ? "1 GiB" : "2 MiB", tsc_hz / 1000000);
}

static void test_panic(void)
{
    kprintf("KIT panic-test executing ud2 at CPL3");
    __asm__ volatile("ud2");
}

static const struct { const char *name; void (*fn)(void); } tests[] = {
    { "banner", test_banner }, { "cpus", test_cpus }, { "e820", test_e820 },
    { "pci", test_pci }, { "acpi", test_acpi }, { "rtc", test_rtc },
    { "pmtimer", test_pmtimer }, { "irq", test_irq }, { "bootparams", test_bootparams },
    { "facts", test_facts }, { "exits", test_exits }, { "panic", test_panic }, { "nvme", test_nvme },
    { "nvme-bench", test_nvme_bench }, { "pit", test_pit }, { "net", test_net },
    { "cpubench", test_cpubench }, { "ramfb", test_ramfb }, { "lfb", test_lfb }, { "kbd", test_kbd },
};

static void run_tests(void)
{
    char name[32];
    const char *p = tests_arg;
    while (*p) {
        size_t i = 0;
        while (*p && *p != ',') { if (i + 1 < sizeof name) name[i++] = *p; p++; }
        name[i] = 0;
        if (*p == ',') p++;
        if (!i) continue;
        size_t t;
        for (t = 0; t < sizeof tests / sizeof tests[0]; t++)
            if (!strcmp(name, tests[t].name)) { tests[t].fn(); break; }
        if (t == sizeof tests / sizeof tests[0])
            kprintf("KIT %s fail unknown test", name);
    }
}

u64 parse_num(const char *s)
{
    u64 v = 0;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) { base = 16; s += 2; }
    for (; *s; s++) {
        int d = (*s >= '0' && *s <= '9') ? *s - '0' : (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f' ? (*s | 0x20) - 'a' + 10 : 99;
        if (d >= base) break;
        v = v * (u64)base + (u64)d;
    }
    return v;
}

static void reset_cf9(void)
{
    outb(0xcf9, 0x02);
    outb(0xcf9, 0x06);
    udelay(500000);
    kprintf("KIT exit fail reset via 0xcf9 did not happen, triple-faulting");
    kit_syscall(SYS_TRIPLEFAULT, 0);
}

static void __attribute__((noreturn)) do_exit(void)
{
    if (!strcmp(exit_arg, "reset")) {
        reset_cf9();
    } else if (!strcmp(exit_arg, "reset-once")) {
        u8 idx = (u8)parse_num(cmos_arg);
        u8 n = cmos_read(idx);
        kprintf("KIT boot count=%u", n + 1u);
        if (n == 0) {
            cmos_write(idx, 1);
            reset_cf9();
        }
        cmos_write(idx, 0);
        acpi_poweroff();
    } else if (!strcmp(exit_arg, "triplefault")) {
        kit_syscall(SYS_TRIPLEFAULT, 0);
    } else if (!strcmp(exit_arg, "halt")) {
        kit_syscall(SYS_PARK, 0);
    } else {
        if (strcmp(exit_arg, "poweroff"))
            kprintf("KIT exit fail unknown kit.exit=%s, powering off", exit_arg);
        acpi_poweroff();
    }
    kit_syscall(SYS_PARK, 0);
    for (;;) ;
}

void user_main(u64 zp)
{
    memset(_bss_start, 0, (size_t)(_bss_end - _bss_start));
    memcpy(bootparams, (void *)zp, sizeof bootparams);
    u64 cl = BP32(bootparams, BP_CMDLINE_PTR) | ((u64)BP32(bootparams, BP_EXT_CMDLINE) << 32);
    if (cl) {
        for (size_t i = 0; i + 1 < sizeof cmdline && ((char *)cl)[i]; i++)
            cmdline[i] = ((char *)cl)[i];
    }
    opt("kit.tests=", tests_arg, sizeof tests_arg);
    opt("kit.exit=", exit_arg, sizeof exit_arg);
    opt("kit.cmos=", cmos_arg, sizeof cmos_arg);
    acpi_init();
    time_init();
    run_tests();
    kprintf("KIT done");
    do_exit();
}

/* Sleep until *p != old: hlt at CPL0 (race-free: the check is made there with IF=0), woken by any
   interrupt; a one-shot LAPIC timer bounds each sleep so that a lost interrupt costs 10 ms at most. */
void wait_change(volatile u32 *p, u32 old, u64 timeout_us)
{
    u64 end = now_us() + timeout_us;
    while (*p == old && now_us() < end) {
        lapic_write(0x3e0, 0x3);                /* divide by 16 */
        lapic_write(0x320, VEC_TIMER);          /* one-shot */
        lapic_write(0x380, 625000);             /* ~10 ms at KVM's 1 GHz APIC bus */
        kit_syscall2(SYS_WAIT_CHANGE, (long)p, old);
    }
}

int cpu_post(u32 idx, cpu_work_fn fn, void *arg)
{
    if (idx == 0 || idx >= MAXCPU || idx >= cpus_online) return -1;
    struct cpu_work *w = &cpu_work[idx];
    w->fn = fn;
    w->arg = arg;
    __atomic_add_fetch(&w->seq, 1, __ATOMIC_SEQ_CST);
    lapic_write(0x310, cpu_apic[idx] << 24);
    lapic_write(0x300, 0x4000 | VEC_WAKE);      /* fixed, edge, assert */
    return 0;
}

int cpu_wait(u32 idx, u64 timeout_us)
{
    struct cpu_work *w = &cpu_work[idx];
    u64 end = now_us() + timeout_us;
    while (w->done != w->seq)
        if (now_us() > end) return 0;
        else cpu_relax();
    return 1;
}

void user_ap_main(u64 idx)
{
    u32 id = lapic_read(0x20) >> 24;
    cpu_apic[idx] = id;
    __atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
    kprintf("KIT cpu-online apic=%u", id);
    struct cpu_work *w = &cpu_work[idx];
    u32 seen = 0;
    for (;;) {
        while (w->seq == seen)
            kit_syscall2(SYS_WAIT_CHANGE, (long)&w->seq, seen);
        seen = w->seq;
        w->fn((u32)idx, w->arg);
        __atomic_store_n(&w->done, seen, __ATOMIC_SEQ_CST);
    }
}
