package dev.apiary.vmm.x86;

/**
 * Identity of one vCPU. {@code index} 0 is the bootstrap processor; {@code apicId} is its initial local APIC id;
 * {@code cpuCount} is the number of vCPUs of the VM, reported in CPUID's topology leaves (1, 4, 0xB).
 */
public record CpuConfig(int index, int apicId, int cpuCount) {
    public CpuConfig {
        if (index < 0 || apicId < 0 || apicId > 0xFF || cpuCount < 1 || index >= cpuCount) {
            throw new IllegalArgumentException("bad CPU config: " + index + "/" + apicId + "/" + cpuCount);
        }
    }
}
