/* VM-exit round trips from CPL3 (optional test "exits"): the figure bench/boot compares between VMMs. */
#include "kit.h"

/* An address in the 32-bit PCI hole that no device claims: every read is a full exit to the VMM's
 * userspace and back (KVM_EXIT_MMIO), with no CPL0 guest code in the path. */
#define UNCLAIMED_MMIO 0xfeb00000ul

void test_exits(void)
{
    const int n = 2000;
    u32 v = 0;
    for (int i = 0; i < 50; i++) v |= mmio_read32(UNCLAIMED_MMIO);          /* warm up */
    u64 t0 = rdtsc();
    for (int i = 0; i < n; i++) v |= mmio_read32(UNCLAIMED_MMIO);
    u64 t1 = rdtsc();
    u64 k = tsc_hz / 1000000ul ? tsc_hz / 1000000ul : 1;                   /* cycles per us */
    u64 ns = (t1 - t0) * 1000 / k / n;
    kprintf("KIT exits ok mmio_ns=%lu per_sec=%lu n=%d value=0x%x", ns, ns ? 1000000000ul / ns : 0, n, v);
}
