#ifndef KIT_H
#define KIT_H
#include "kitdefs.h"

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long i64;
typedef unsigned long size_t;
typedef __builtin_va_list va_list;
#define va_start __builtin_va_start
#define va_end __builtin_va_end
#define va_arg __builtin_va_arg
#define NULL ((void *)0)

/* Variables that CPL0 writes before the BSS is cleared (at CPL3) must live in .data. */
#define __kdata __attribute__((section(".data")))
#define PACKED __attribute__((packed))

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0,%1" : : "a"(v), "Nd"(p)); }
static inline void outw(u16 p, u16 v) { __asm__ volatile("outw %0,%1" : : "a"(v), "Nd"(p)); }
static inline void outl(u16 p, u32 v) { __asm__ volatile("outl %0,%1" : : "a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline u16 inw(u16 p) { u16 v; __asm__ volatile("inw %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline u32 inl(u16 p) { u32 v; __asm__ volatile("inl %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d) {
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline long kit_syscall2(long n, long arg, long arg2) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "D"(arg), "S"(arg2) : "memory");
    return r;
}
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline long kit_syscall(long n, long arg) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "D"(arg) : "memory");
    return r;
}

/* zero page (struct boot_params) offsets */
#define BP_ACPI_RSDP        0x070
#define BP_EXT_RAMDISK_IMG  0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMDLINE      0x0c8
#define BP_E820_ENTRIES     0x1e8
#define BP_SETUP_SECTS      0x1f1
#define BP_BOOT_FLAG        0x1fe
#define BP_HEADER           0x202
#define BP_VERSION          0x206
#define BP_RAMDISK_IMAGE    0x218
#define BP_RAMDISK_SIZE     0x21c
#define BP_CMDLINE_PTR      0x228
#define BP_CMDLINE_SIZE     0x238
#define BP_E820_TABLE       0x2d0
#define E820_MAX            128

#define BP8(bp, o)  (*(volatile u8 *)((u8 *)(bp) + (o)))
#define BP16(bp, o) (*(volatile u16 *)((u8 *)(bp) + (o)))
#define BP32(bp, o) (*(volatile u32 *)((u8 *)(bp) + (o)))
#define BP64(bp, o) (*(volatile u64 *)((u8 *)(bp) + (o)))

struct e820_entry { u64 addr; u64 size; u32 type; } PACKED;

/* State shared between CPL0 and CPL3 (all memory is user-accessible). */
struct kinfo {
    u8 *zp;                 /* zero page as given by the loader */
    u64 lapic_base;
    u32 bsp_apic_id;
    volatile u32 timer_ticks;
    volatile u32 uart_irqs;
    volatile u32 stray_irqs;
    /* power-off data for CPL0 panics (filled by acpi_init at CPL3) */
    u16 pm1a_cnt, pm1b_cnt;
    int s5_typ;             /* -1: unknown */
    u64 sleep_ctl;          /* HW-reduced ACPI sleep control register (MMIO or port) */
    int sleep_ctl_io;
    int gbpages;
    u32 sysret_gp_cs, sysret_gp_ss;
    int int80_via_ud;       /* int $0x80 from CPL3 arrived as #UD */
    volatile u32 pf_probe_hits; /* #PF at the cpubench probe page, skipped */
    u64 low_top;            /* end of RAM below 4 GiB: the hole above it is mapped uncached */
    u64 mapped_top;         /* end of the identity map */
    volatile u32 vec_count[256];    /* interrupts per vector (VEC_DYN_BASE..VEC_DYN_END) */
};
extern struct kinfo kinfo;
extern volatile u32 kinfo_ap_next;   /* next CPU index handed to an AP (lock xadd in ap_entry64) */

/* per-CPU work for APs (main.c): an AP that has checked in waits (hlt) for work posted by the BSP */
extern volatile u32 cpus_online;
extern u32 cpu_apic[MAXCPU];            /* LAPIC id per CPU index (0 = BSP) */
typedef void (*cpu_work_fn)(u32 idx, void *arg);
int cpu_post(u32 idx, cpu_work_fn fn, void *arg);   /* 0 ok, -1 CPU not online */
int cpu_wait(u32 idx, u64 timeout_us);              /* 1 done, 0 timeout */
void wait_change(volatile u32 *p, u32 old, u64 timeout_us);  /* sleep until *p != old (or timeout) */

/* pci.c */
u32 pci_cfg_read(int b, int d, int f, int off);
void pci_cfg_write(int b, int d, int f, int off, u32 v);

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
int strcmp(const char *a, const char *b);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...);
void kprintf(const char *fmt, ...);          /* one line, spinlock-serialised, "\r\n" added */
void kputs_raw(const char *s);               /* no lock, no newline */
void spin_lock(volatile int *l);
void spin_unlock(volatile int *l);

/* uart.c */
#define COM1 0x3f8
void uart_init(void);
void uart_putc(char c);
int uart_getc(void);

/* time.c */
extern u64 tsc_hz;
void time_init(void);
u64 now_us(void);
void udelay(u64 us);

/* tests and drivers (CPL3) */
extern u8 bootparams[4096];
extern char cmdline[4096];
int acpi_init(void);
void test_acpi(void);
void test_bootparams(void);
void test_e820(void);
void test_pci(void);
void test_rtc(void);
void test_pmtimer(void);
void test_pit(void);
void test_cpubench(void);
void test_irq(void);
void test_cpus(void);
void test_facts(void);
void test_exits(void);
void test_nvme(void);
void test_nvme_bench(void);
void test_net(void);
void test_ramfb(void);
void test_lfb(void);
void test_kbd(void);
void opt(const char *key, char *dst, size_t n);
u64 parse_num(const char *s);
u8 cmos_read(u8 reg);
void cmos_write(u8 reg, u8 val);
void acpi_poweroff(void);
u32 lapic_read(u32 reg);
void lapic_write(u32 reg, u32 v);

/* ACPI facts used by several tests */
struct acpi_facts {
    int ok;
    u64 rsdp;
    int fadt_found, madt_found;
    u32 pm_tmr; int tmr32;
    u32 pm1a_cnt, pm1b_cnt;
    int reset_sup; u8 reset_space; u64 reset_addr; u8 reset_val;
    int s5_typ;
    int hw_reduced;
    u8 century;
    u32 madt_lapic_addr;
    int nlapic;                 /* enabled local APICs */
    u32 apic_ids[MAXCPU];
    int nioapic;
    struct { u32 id, addr, gsi_base; } ioapic[8];
    int niso;
    struct { u8 src; u32 gsi; u16 flags; } iso[16];
};
extern struct acpi_facts acpi;

/* assembly */
extern char _bss_start[], _bss_end[], _end[];
extern char tramp_start[], tramp_end[];
void ap_entry64(void);
#endif
