package dev.apiary.vmm.machine;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.vmm.accel.emu.EmulatedAccelerator;
import dev.apiary.vmm.accel.kvm.KvmAccelerator;
import dev.apiary.vmm.accel.kvm.KvmException;
import dev.apiary.vmm.boot.BootImageException;

/**
 * Picks the accelerator a manifest asks for: {@code KVM} only where KVM is usable (else one clear error),
 * {@code Emulated} always, {@code Auto} KVM where usable and the software CPU elsewhere, with a note saying so.
 */
record AcceleratorChoice(dev.apiary.vmm.accel.Accelerator accelerator, String note) {
    static AcceleratorChoice open(Accelerator wanted) throws BootImageException {
        Accelerator w = wanted == null ? Accelerator.Auto : wanted;
        switch (w) {
            case Emulated:
                return new AcceleratorChoice(EmulatedAccelerator.create(), null);
            case KVM: {
                String why = KvmAccelerator.unavailableReason();
                if (why == null) {
                    try {
                        return new AcceleratorChoice(KvmAccelerator.open(), null);
                    } catch (KvmException e) {
                        why = e.getMessage();
                    }
                }
                throw new BootImageException("spec.accelerator: KVM is not usable on this host: " + why
                        + " (use Auto or Emulated to run on the software CPU)");
            }
            default: {
                String why = KvmAccelerator.unavailableReason();
                if (why == null) {
                    try {
                        return new AcceleratorChoice(KvmAccelerator.open(), null);
                    } catch (KvmException e) {
                        why = e.getMessage();
                    }
                }
                return new AcceleratorChoice(EmulatedAccelerator.create(),
                        "KVM is not usable here (" + why + "); running on the software CPU (Emulated)");
            }
        }
    }
}
