package dev.apiary.crds;

/**
 * An accelerator the VMM can run a guest with: what a run got ({@code VirtualMachineStatus.accelerator}) and the
 * names a node's agent reports ({@code VmmNodeStatus.accelerators[].name}). {@code VirtualMachineSpec.Accelerator}
 * is the user's choice, which adds {@code Auto}.
 */
public enum Accelerator {
    /** Linux KVM: guest code runs natively on the host CPU. */
    KVM,
    /** The VMM's software x86-64 CPU: runs on any host, slower. */
    Emulated;

    /** The accelerator of this name, or null for a name this model does not know (a newer VMM's). */
    public static Accelerator named(String name) {
        for (Accelerator a : values()) {
            if (a.name().equals(name)) return a;
        }
        return null;
    }
}
