package dev.apiary.operator.scheduling;

import dev.apiary.crds.Accelerator;
import dev.apiary.crds.VirtualMachineSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Chooses a node for a VM. Pure: the caller supplies every node's capacity and what is already held on it. A node
 * fits when it is Ready, not cordoned, carries every label of the nodeSelector, offers the accelerator the VM asks
 * for, and has the CPUs and memory free. Among those that fit, a VM with {@code accelerator: Auto} prefers nodes
 * with KVM (the software CPU is far slower, so it is used only where no KVM node fits); then the one left least
 * full afterwards wins (spread): the larger of its CPU and memory fractions after placement is compared, then the
 * VM count, then the name, so the choice is deterministic.
 */
public final class Scheduler {
    /** How many per-node explanations an Unschedulable message lists before summarising. */
    static final int MAX_LISTED = 8;

    private Scheduler() {}

    /** @param accelerator spec.accelerator; null is Auto (the CRD default) */
    public static Placement place(int cpus, long memory, Map<String, String> nodeSelector,
            VirtualMachineSpec.Accelerator accelerator, Collection<NodeView> nodes) {
        VirtualMachineSpec.Accelerator wanted = accelerator == null ? VirtualMachineSpec.Accelerator.Auto : accelerator;
        if (nodes.isEmpty()) {
            return new Placement.Unschedulable("NoNodes", "no VmmNode is registered: is the vmm-agent DaemonSet running?");
        }
        List<NodeView> sorted = nodes.stream().sorted(Comparator.comparing(NodeView::name)).toList();
        Accelerator only = only(wanted);
        if (only != null && sorted.stream().noneMatch(n -> n.offers(only))) {
            return noNodeWith(only, sorted);
        }
        List<NodeView> fits = new ArrayList<>();
        List<String> why = new ArrayList<>();
        for (NodeView n : sorted) {
            String miss = misfit(cpus, memory, nodeSelector, wanted, n);
            if (miss == null) {
                fits.add(n);
            } else {
                why.add(n.name() + ": " + miss);
            }
        }
        if (fits.isEmpty()) {
            String listed = listed(why);
            String what = only == null ? "" : " with " + only.name();
            return new Placement.Unschedulable("Unschedulable", "0/" + nodes.size() + " nodes fit " + cpus + " CPUs and "
                    + Quantities.format(memory) + what + ": " + listed);
        }
        NodeView best = fits.stream().min(Comparator
                .comparingInt((NodeView n) -> wanted == VirtualMachineSpec.Accelerator.Auto
                        && !n.offers(Accelerator.KVM) ? 1 : 0)
                .thenComparingDouble(n -> fullnessAfter(n, cpus, memory))
                .thenComparingInt(NodeView::vms)
                .thenComparing(NodeView::name)).orElseThrow();
        return new Placement.Bound(best.name());
    }

    /** The one accelerator a VM must have, or null when any will do (Auto). */
    static Accelerator only(VirtualMachineSpec.Accelerator wanted) {
        return switch (wanted) {
            case KVM -> Accelerator.KVM;
            case Emulated -> Accelerator.Emulated;
            case Auto -> null;
        };
    }

    /** No node offers the accelerator at all: reason NoNodeWithKVM (or NoNodeWithEmulated), each node's reason. */
    private static Placement noNodeWith(Accelerator a, List<NodeView> nodes) {
        List<String> why = nodes.stream().map(n -> n.name() + ": " + AcceleratorOffer.whyNot(n.accelerators(), a)).toList();
        String hint = a == Accelerator.KVM
                ? " (spec.accelerator: Auto or Emulated runs it on the software CPU)"
                : " (their vmm-agents or VMMs predate the software CPU; spec.accelerator: Auto or KVM runs it with KVM)";
        return new Placement.Unschedulable("NoNodeWith" + a.name(), "no VmmNode offers " + a.name()
                + ", which spec.accelerator: " + a.name() + " requires" + hint + ": " + listed(why));
    }

    private static String listed(List<String> why) {
        String listed = why.stream().limit(MAX_LISTED).collect(Collectors.joining("; "));
        if (why.size() > MAX_LISTED) listed += "; and " + (why.size() - MAX_LISTED) + " more";
        return listed;
    }

    /** Why the VM does not fit on the node, or null when it does. */
    static String misfit(int cpus, long memory, Map<String, String> selector, VirtualMachineSpec.Accelerator wanted,
            NodeView n) {
        if (!n.ready()) return n.notReadyReason();
        if (n.unschedulable()) return "cordoned (spec.unschedulable)";
        if (selector != null) {
            List<String> missing = selector.entrySet().stream()
                    .filter(e -> !e.getValue().equals(n.labels() == null ? null : n.labels().get(e.getKey())))
                    .map(e -> e.getKey() + "=" + e.getValue()).sorted().toList();
            if (!missing.isEmpty()) return "labels do not match nodeSelector " + String.join(",", missing);
        }
        Accelerator only = only(wanted);
        if (only != null && !n.offers(only)) {
            return "no " + only.name() + " (" + AcceleratorOffer.whyNot(n.accelerators(), only) + ")";
        }
        if (only == null && !n.offers(Accelerator.KVM) && !n.offers(Accelerator.Emulated)) {
            return "no accelerator available (KVM: " + AcceleratorOffer.whyNot(n.accelerators(), Accelerator.KVM)
                    + "; Emulated: " + AcceleratorOffer.whyNot(n.accelerators(), Accelerator.Emulated) + ")";
        }
        List<String> short_ = new ArrayList<>();
        if (n.freeCpus() < cpus) short_.add(Math.max(n.freeCpus(), 0) + " of " + n.cpus() + " CPUs free");
        if (n.freeMemory() < memory) {
            short_.add(Quantities.format(Math.max(n.freeMemory(), 0)) + " of " + Quantities.format(n.memory())
                    + " memory free");
        }
        return short_.isEmpty() ? null : "only " + String.join(" and ", short_);
    }

    private static double fullnessAfter(NodeView n, int cpus, long memory) {
        double c = n.cpus() == 0 ? 1 : (double) (n.usedCpus() + cpus) / n.cpus();
        double m = n.memory() == 0 ? 1 : (double) (n.usedMemory() + memory) / n.memory();
        return Math.max(c, m);
    }
}
