package dev.apiary.operator.scheduling;

import dev.apiary.crds.Accelerator;
import dev.apiary.crds.VmmNodeStatus;
import java.util.List;

/**
 * One accelerator a node offers or lacks, as its agent reported it.
 *
 * @param name      KVM, Emulated, or a name from a newer VMM (never chosen by this operator)
 * @param available whether VMs can run with it there
 * @param reason    why (or why not), in the VMM's words; may be null
 */
public record AcceleratorOffer(String name, boolean available, String reason) {

    /**
     * What a VmmNode offers. Its {@code status.accelerators} when the agent writes them; from an older agent only
     * the {@code status.kvm} block: KVM when {@code kvm.present}, and no software CPU (such an agent's VMM has none).
     * A node that reports neither offers nothing.
     */
    public static List<AcceleratorOffer> of(VmmNodeStatus s) {
        if (s == null) return List.of();
        if (s.accelerators != null) {
            return s.accelerators.stream().filter(a -> a.name != null)
                    .map(a -> new AcceleratorOffer(a.name, Boolean.TRUE.equals(a.available), a.reason)).toList();
        }
        if (s.kvm == null) return List.of();
        return List.of(new AcceleratorOffer(Accelerator.KVM.name(), Boolean.TRUE.equals(s.kvm.present),
                Boolean.TRUE.equals(s.kvm.present) ? s.kvm.reason : "no /dev/kvm"),
                new AcceleratorOffer(Accelerator.Emulated.name(), false,
                        "its vmm-agent predates the software CPU (no status.accelerators)"));
    }

    /** Whether {@code offers} has {@code a} available. */
    public static boolean offers(List<AcceleratorOffer> offers, Accelerator a) {
        return offers.stream().anyMatch(o -> o.available && o.name.equals(a.name()));
    }

    /** Why {@code offers} lacks {@code a}: the node's own reason, or that it does not report it. */
    public static String whyNot(List<AcceleratorOffer> offers, Accelerator a) {
        return offers.stream().filter(o -> o.name.equals(a.name()) && o.reason != null).map(AcceleratorOffer::reason)
                .findFirst().orElse("not reported by its vmm-agent");
    }
}
