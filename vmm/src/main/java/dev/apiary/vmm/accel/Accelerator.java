package dev.apiary.vmm.accel;

import dev.apiary.vmm.memory.MemoryLayout;

/**
 * What runs a VM's vCPUs: Linux KVM ({@code accel.kvm}) or the VMM's own software x86-64 CPU
 * ({@code accel.emu}). The device model never sees which: it gets guest memory, interrupt lines, an MSI sink
 * and I/O-event registration from the {@link AccelVm}, and the vCPUs call into the same buses.
 */
public interface Accelerator extends AutoCloseable {
    /** The name users see: {@code KVM} or {@code Emulated} (as in {@code spec.accelerator}). */
    String name();

    /** The most vCPUs one VM may have here. */
    int maxVcpus();

    /**
     * Whether distribution kernels and UEFI firmware run here at useful speed: true, false, or null when not
     * known yet (KVM's capability probe runs only when needed).
     */
    Boolean fullGuests();

    /** A VM with guest RAM laid out as {@code layout} and the platform's interrupt controllers and timers. */
    AccelVm createVm(MemoryLayout layout, int cpus);

    @Override
    void close();
}
