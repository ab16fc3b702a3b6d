/*
 * CPU-bound loops for comparing software CPUs (optional test "cpubench"; bench/emulator runs it on Apiary's
 * emulated accelerator and on QEMU TCG side by side). Each loop has a known instruction count per
 * iteration, so the guest can report instructions per second without help from the VMM:
 *   int    18 integer instructions per iteration (ALU, shifts, multiply, compare, branch), register-only
 *   copy   a byte-copy loop over 256 KiB buffers (loads, stores, pointer arithmetic)
 *   pf     a load from a page that is not present, taken as #PF at CPL0 and skipped: exception delivery
 *          with a privilege change and IRETQ, the cost of a page fault round trip
 *   pio    IN from the COM1 scratch register at CPL3: #GP, the kit's CPL0 port-I/O path, a bus access
 */
#include "kit.h"

#define PF_PROBE 0x00007f0000000000ul       /* PML4 slot 254: never mapped by the kit */
#define INT_INSNS_PER_ITER 18

static u8 copy_src[256 * 1024], copy_dst[256 * 1024];

static u64 int_loop(u64 iters, u64 seed)
{
    u64 a = seed, b = 0x9e3779b97f4a7c15ul, c = 1;
    /* 16 ALU instructions + dec + jnz per iteration */
    __asm__ volatile(
        "1:\n\t"
        "add %[b], %[a]\n\t" "xor %[a], %[c]\n\t" "rol $13, %[a]\n\t" "imul %[b], %[c]\n\t"
        "sub %[c], %[b]\n\t" "or $1, %[b]\n\t" "shr $3, %[c]\n\t" "lea 7(%[a],%[c],2), %[a]\n\t"
        "and %[b], %[c]\n\t" "not %[c]\n\t" "add $0x55, %[b]\n\t" "xor %[c], %[a]\n\t"
        "cmp %[a], %[b]\n\t" "adc $0, %[c]\n\t" "neg %[b]\n\t" "mov %[a], %[b]\n\t"
        "dec %[n]\n\t" "jnz 1b\n\t"
        : [a] "+r"(a), [b] "+r"(b), [c] "+r"(c), [n] "+r"(iters) : : "cc");
    return a ^ b ^ c;
}

static u64 per_sec(u64 count, u64 cycles)
{
    return cycles ? count * (tsc_hz ? tsc_hz : 1) / cycles : 0;
}

void test_cpubench(void)
{
    /* integer */
    u64 iters = 2000000;
    u64 t0 = rdtsc();
    u64 sum = int_loop(iters, 42);
    u64 t1 = rdtsc();
    u64 int_ips = per_sec(iters * INT_INSNS_PER_ITER, t1 - t0);

    /* memory copy: 16 passes of 256 KiB */
    for (u64 i = 0; i < sizeof copy_src; i++) copy_src[i] = (u8)(i * 31 + 7);
    u64 t2 = rdtsc();
    for (int pass = 0; pass < 16; pass++) {
        copy_src[pass] ^= (u8)pass;
        memcpy(copy_dst, copy_src, sizeof copy_src);
    }
    u64 t3 = rdtsc();
    int copy_ok = !memcmp(copy_dst, copy_src, sizeof copy_src);
    u64 copy_bps = per_sec(16 * sizeof copy_src, t3 - t2);

    /* page faults */
    const int nfaults = 2000;
    kinfo.pf_probe_hits = 0;
    u64 t4 = rdtsc();
    for (int i = 0; i < nfaults; i++) {
        u32 v;
        /* exactly 2 bytes (8b 07): the #PF handler skips it */
        __asm__ volatile(".byte 0x8b, 0x07" : "=a"(v) : "D"(PF_PROBE) : "memory");
    }
    u64 t5 = rdtsc();
    u32 hits = kinfo.pf_probe_hits;

    /* port I/O from CPL3 */
    const int npio = 2000;
    u32 x = 0;
    u64 t6 = rdtsc();
    for (int i = 0; i < npio; i++) x += inb(COM1 + 7);
    u64 t7 = rdtsc();

    u64 k = tsc_hz / 1000000ul ? tsc_hz / 1000000ul : 1;       /* cycles per us */
    if (!copy_ok || hits != (u32)nfaults)
        kprintf("KIT cpubench fail copy_ok=%d pf_hits=%u/%d", copy_ok, hits, nfaults);
    else
        kprintf("KIT cpubench ok int_ips=%lu int_ms=%lu copy_bps=%lu copy_ms=%lu pf_ns=%lu pio_ns=%lu sum=0x%lx x=%u",
                int_ips, (t1 - t0) / k / 1000, copy_bps, (t3 - t2) / k / 1000,
                (t5 - t4) * 1000 / k / nfaults, (t7 - t6) * 1000 / k / npio, sum, x);
}
