package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.accel.kvm.CpuidEntries;
import dev.apiary.vmm.accel.kvm.CpuidEntries.Entry;

/**
 * The CPUID a vCPU sees: what KVM supports, with the topology of one socket of {@code cpus} cores (one
 * thread each) and this vCPU's APIC id filled in, so a guest counts the same CPUs in CPUID, the MADT and
 * when it starts them.
 */
public final class CpuTopology {
    private CpuTopology() {}

    public static CpuidEntries forVcpu(CpuidEntries supported, int index, int cpus) {
        CpuidEntries c = supported.copy();
        int coreBits = 32 - Integer.numberOfLeadingZeros(Math.max(cpus, 1) - 1); // ceil(log2(cpus))
        for (Entry e : supported.entries()) {
            switch (e.function()) {
                case 0x1: {
                    int ebx = (e.ebx() & 0x0000_FFFF) | (index << 24) | (Math.min(1 << coreBits, 255) << 16);
                    int edx = cpus > 1 ? e.edx() | (1 << 28) : e.edx() & ~(1 << 28); // HTT: >1 logical CPU
                    int ecx = e.ecx() | (1 << 31); // running under a hypervisor
                    c.put(e.withRegs(e.eax(), ebx, ecx, edx));
                    break;
                }
                case 0x4: {
                    // Deterministic cache parameters: cores per package in EAX[31:26]; L1/L2 private, L3 shared.
                    int level = (e.eax() >>> 5) & 7;
                    int sharing = level >= 3 ? cpus - 1 : 0;
                    int eax = (e.eax() & 0x0000_3FFF) | ((cpus - 1) << 26) | (sharing << 14);
                    c.put(e.withRegs(e.eax() == 0 ? 0 : eax, e.ebx(), e.ecx(), e.edx()));
                    break;
                }
                case 0xB:
                case 0x1F: {
                    int sub = e.index();
                    int eax;
                    int ebx;
                    int ecx;
                    if (sub == 0) { // SMT level: one thread per core
                        eax = 0;
                        ebx = 1;
                        ecx = (1 << 8);
                    } else if (sub == 1) { // core level
                        eax = coreBits;
                        ebx = cpus;
                        ecx = (2 << 8) | 1;
                    } else {
                        eax = 0;
                        ebx = 0;
                        ecx = sub;
                    }
                    c.put(e.withRegs(eax, ebx, ecx, index));
                    break;
                }
                case 0x8000_0008: {
                    // AMD: number of cores - 1 in ECX[7:0], APIC id size in ECX[15:12].
                    int ecx = (e.ecx() & ~0xF0FF) | (cpus - 1) | (coreBits << 12);
                    c.put(e.withRegs(e.eax(), e.ebx(), ecx, e.edx()));
                    break;
                }
                default:
                    break;
            }
        }
        return c;
    }
}
