package dev.apiary.operator.scheduling;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Chooses a node for a VM. Pure: the caller supplies every node's capacity and what is already held on it. A node
 * fits when it is Ready, not cordoned, carries every label of the nodeSelector, and has the CPUs and memory free.
 * Among those that fit, the one left least full afterwards wins (spread): the larger of its CPU and memory
 * fractions after placement is compared, then the VM count, then the name, so the choice is deterministic.
 */
public final class Scheduler {
    /** How many per-node explanations an Unschedulable message lists before summarising. */
    static final int MAX_LISTED = 8;

    private Scheduler() {}

    public static Placement place(int cpus, long memory, Map<String, String> nodeSelector, Collection<NodeView> nodes) {
        if (nodes.isEmpty()) {
            return new Placement.Unschedulable("NoNodes", "no VmmNode is registered: is the vmm-agent DaemonSet running?");
        }
        List<NodeView> fits = new ArrayList<>();
        List<String> why = new ArrayList<>();
        for (NodeView n : nodes.stream().sorted(Comparator.comparing(NodeView::name)).toList()) {
            String miss = misfit(cpus, memory, nodeSelector, n);
            if (miss == null) {
                fits.add(n);
            } else {
                why.add(n.name() + ": " + miss);
            }
        }
        if (fits.isEmpty()) {
            String listed = why.stream().limit(MAX_LISTED).collect(Collectors.joining("; "));
            if (why.size() > MAX_LISTED) listed += "; and " + (why.size() - MAX_LISTED) + " more";
            return new Placement.Unschedulable("Unschedulable", "0/" + nodes.size() + " nodes fit " + cpus + " CPUs and "
                    + Quantities.format(memory) + ": " + listed);
        }
        NodeView best = fits.stream().min(Comparator
                .comparingDouble((NodeView n) -> fullnessAfter(n, cpus, memory))
                .thenComparingInt(NodeView::vms)
                .thenComparing(NodeView::name)).orElseThrow();
        return new Placement.Bound(best.name());
    }

    /** Why the VM does not fit on the node, or null when it does. */
    static String misfit(int cpus, long memory, Map<String, String> selector, NodeView n) {
        if (!n.ready()) return n.notReadyReason();
        if (n.unschedulable()) return "cordoned (spec.unschedulable)";
        if (selector != null) {
            List<String> missing = selector.entrySet().stream()
                    .filter(e -> !e.getValue().equals(n.labels() == null ? null : n.labels().get(e.getKey())))
                    .map(e -> e.getKey() + "=" + e.getValue()).sorted().toList();
            if (!missing.isEmpty()) return "labels do not match nodeSelector " + String.join(",", missing);
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
