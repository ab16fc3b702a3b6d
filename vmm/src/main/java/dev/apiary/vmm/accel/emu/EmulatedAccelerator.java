package dev.apiary.vmm.accel.emu;

import dev.apiary.vmm.accel.AccelVm;
import dev.apiary.vmm.accel.Accelerator;
import dev.apiary.vmm.memory.MemoryLayout;

/**
 * The software accelerator: the VMM's own x86-64 CPU ({@code dev.apiary.vmm.x86}) with the local APICs,
 * IOAPIC, 8259 pair ({@code dev.apiary.vmm.intc}) and the 8254 PIT in this process. Available on every host.
 */
public final class EmulatedAccelerator implements Accelerator {
    public static final String NAME = "Emulated";
    /** As many vCPUs as a manifest may ask for; each is a Java thread. */
    public static final int MAX_VCPUS = 64;

    private EmulatedAccelerator() {}

    public static EmulatedAccelerator create() {
        return new EmulatedAccelerator();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int maxVcpus() {
        return MAX_VCPUS;
    }

    /** Yes: Debian's kernel and OVMF boot on the software CPU (LinuxBootTest, UefiBootTest), only slower than on KVM. */
    @Override
    public Boolean fullGuests() {
        return true;
    }

    @Override
    public AccelVm createVm(MemoryLayout layout, int cpus) {
        return new EmulatedVm(layout, cpus);
    }

    @Override
    public void close() {
        // nothing host-wide to release
    }
}
