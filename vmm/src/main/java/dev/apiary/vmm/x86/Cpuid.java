package dev.apiary.vmm.x86;

import java.nio.charset.StandardCharsets;

/**
 * CPUID (SDM Vol. 2A, CPUID): Intel's vendor string and layout; advertises only what this CPU implements: x87, FXSR, SSE, SSE2 but no MMX, SSE3+; the hypervisor
 * bit with leaf 0x40000000; topology from {@link CpuConfig}; the TSC frequency of the {@link GuestClock}.
 */
final class Cpuid {
    /**
     * Intel's vendor string: the leaves this CPU answers (4, 0xB, 0x15, 0x16, family 6) are Intel's layout, and
     * operating systems take their generic, untested path on a vendor they do not know (Linux says "your system
     * may be unstable"). The hypervisor leaf and the brand string say what it really is.
     */
    static final String VENDOR = "GenuineIntel";
    static final String HYPERVISOR = "ApiaryEmuVMM";
    static final String BRAND = "Apiary emulated x86-64 CPU";

    /** Family 6, model 0x3A, stepping 9: also EDX at RESET. */
    static long signature() {
        return 0x0003_06A9L;
    }

    private Cpuid() {}

    static int word(String s, int i) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        int v = 0;
        for (int k = 0; k < 4; k++) {
            int idx = i * 4 + k;
            v |= (idx < b.length ? b[idx] & 0xFF : 0) << (8 * k);
        }
        return v;
    }

    /** Returns {eax, ebx, ecx, edx} for leaf {@code leaf}, subleaf {@code sub}. */
    static int[] query(int leaf, int sub, CpuConfig cfg, GuestClock clock) {
        int n = cfg.cpuCount();
        int coreBits = 32 - Integer.numberOfLeadingZeros(Math.max(n - 1, 0));
        long hz = clock.tscHz();
        switch (leaf) {
            case 0:
                return new int[] {0x16, word(VENDOR, 0), word(VENDOR, 2), word(VENDOR, 1)};
            case 1: {
                int ebx = (cfg.apicId() << 24) | (Math.min(n, 255) << 16) | (8 << 8);
                // ECX: CX16 (13), x2APIC no, POPCNT (23), TSC-deadline (24), hypervisor (31)
                int ecx = (1 << 13) | (1 << 23) | (1 << 24) | (1 << 31);
                // EDX: FPU 0, PSE 3, TSC 4, MSR 5, PAE 6, CX8 8, APIC 9, MTRR 12, PGE 13, CMOV 15, PAT 16,
                // CLFSH 19, FXSR 24, SSE 25, SSE2 26, HTT 28 (no MMX: Linux does not require it, see docs)
                int edx = 1 | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 9) | (1 << 12) | (1 << 13)
                        | (1 << 15) | (1 << 16) | (1 << 19) | (1 << 24) | (1 << 25) | (1 << 26) | (n > 1 ? 1 << 28 : 0);
                return new int[] {(int) signature(), ebx, ecx, edx};
            }
            case 4:
                if (sub == 0) {
                    // one level-1 data cache, 8-way, 64 sets of 64-byte lines, shared by one thread
                    return new int[] {((n - 1) << 26) | (1 << 8) | (1 << 5) | 1, (7 << 22) | 63, 63, 0};
                }
                return new int[4];
            case 0xB: {
                int x2apic = cfg.apicId();
                if (sub == 0) {
                    return new int[] {0, 1, (1 << 8), x2apic};
                }
                if (sub == 1) {
                    return new int[] {coreBits, n, 1 | (2 << 8), x2apic};
                }
                return new int[] {0, 0, sub & 0xFF, x2apic};
            }
            case 0x15:
                // TSC = crystal * EBX / EAX: a crystal at the TSC frequency, ratio 1
                return new int[] {1, 1, (int) Math.min(hz, 0xFFFF_FFFFL), 0};
            case 7:
                // subleaf 0 only: no extended features but IA32_ARCH_CAPABILITIES (EDX bit 29, see CpuState)
                return sub == 0 ? new int[] {0, 0, 0, 1 << 29} : new int[4];
            case 0x16: {
                int mhz = (int) (hz / 1_000_000);
                return new int[] {mhz, mhz, 100, 0};
            }
            case 0x4000_0000:
                return new int[] {0x4000_0000, word(HYPERVISOR, 0), word(HYPERVISOR, 1), word(HYPERVISOR, 2)};
            case 0x8000_0000:
                return new int[] {0x8000_0008, 0, 0, 0};
            case 0x8000_0001:
                // ECX: LAHF/SAHF in 64-bit (0), LZCNT (5). EDX: SYSCALL 11, NX 20, 1 GiB pages 26, RDTSCP 27, LM 29
                return new int[] {0, 0, 1 | (1 << 5), (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29)};
            case 0x8000_0002, 0x8000_0003, 0x8000_0004: {
                int base = (leaf - 0x8000_0002) * 4;
                return new int[] {word(BRAND, base), word(BRAND, base + 1), word(BRAND, base + 2), word(BRAND, base + 3)};
            }
            case 0x8000_0007:
                // EDX bit 8: invariant TSC. The TSC is the VM's host-clock-derived time base, the same on every
                // vCPU and at a constant rate (Linux then trusts it across CPUs and idle states).
                return new int[] {0, 0, 0, 1 << 8};
            case 0x8000_0008:
                return new int[] {0x3028, 0, n - 1, 0}; // 40 physical, 48 linear address bits
            default:
                return new int[4];
        }
    }
}
