package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.accel.AccelVm;
import dev.apiary.vmm.accel.Accelerator;
import dev.apiary.vmm.memory.MemoryLayout;

/** Linux KVM: in-kernel LAPIC/IOAPIC/PIC/PIT, ioeventfd and irqfd; the production path. */
public final class KvmAccelerator implements Accelerator {
    public static final String NAME = "KVM";

    private final Kvm kvm;

    private KvmAccelerator(Kvm kvm) {
        this.kvm = kvm;
    }

    /** Opens /dev/kvm; throws {@link KvmException} where it is missing or unusable. */
    public static KvmAccelerator open() {
        return new KvmAccelerator(Kvm.open());
    }

    /** Why KVM cannot be used here (no device, no permission, too old), or null when it can. */
    public static String unavailableReason() {
        return Kvm.unavailableReason();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int maxVcpus() {
        return kvm.maxVcpus();
    }

    @Override
    public Boolean fullGuests() {
        return HostFacts.probeIfDone();
    }

    @Override
    public AccelVm createVm(MemoryLayout layout, int cpus) {
        return KvmAccelVm.create(kvm, layout);
    }

    @Override
    public void close() {
        kvm.close();
    }
}
