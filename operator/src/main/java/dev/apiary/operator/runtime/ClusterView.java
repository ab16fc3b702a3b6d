package dev.apiary.operator.runtime;

import dev.apiary.crds.ConditionTypes;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineSpec;
import dev.apiary.crds.VmmNode;
import dev.apiary.crds.VmmNodeStatus;
import dev.apiary.operator.lifecycle.Conditions;
import dev.apiary.operator.lifecycle.NodeState;
import dev.apiary.operator.scheduling.AcceleratorOffer;
import dev.apiary.operator.scheduling.NodeView;
import dev.apiary.operator.scheduling.Quantities;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.Store;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The operator's view of the cluster for scheduling: VMs and nodes from the informer caches, plus the bindings this
 * operator has written but its VM informer has not delivered yet ("assumed", as kube-scheduler does). Without them
 * a burst of VMs would all see the same free capacity and overbook a node.
 */
public final class ClusterView {
    private final Store<VirtualMachine> vms;
    private final Store<VmmNode> nodes;
    private final Clock clock;
    private final Duration heartbeatTimeout;
    /** vm key → node it was bound to (or empty: unbound) by a write the VM cache has not shown yet. */
    private final Map<String, Optional<String>> assumed = new ConcurrentHashMap<>();

    public ClusterView(Store<VirtualMachine> vms, Store<VmmNode> nodes, Clock clock, Duration heartbeatTimeout) {
        this.vms = vms;
        this.nodes = nodes;
        this.clock = clock;
        this.heartbeatTimeout = heartbeatTimeout;
    }

    public static String key(VirtualMachine vm) {
        return Cache.metaNamespaceKeyFunc(vm);
    }

    public void assume(String vmKey, String node) {
        assumed.put(vmKey, Optional.ofNullable(node));
    }

    public void forgetAssumption(String vmKey) {
        assumed.remove(vmKey);
    }

    /** Called for every VM the informer delivers; only a deletion ends an assumption here (see {@link #nodeOf}). */
    public void observed(VirtualMachine vm, boolean deleted) {
        if (deleted) {
            assumed.remove(key(vm));
            heldCache.remove(key(vm));
        }
    }

    /**
     * The node a VM holds capacity on, counting this operator's own unobserved writes. {@code vm} is the copy the
     * caller holds, often from a list snapshot: an assumption ends only when that very copy shows the write.
     * Ending it when the informer merely delivers the write would race with snapshots taken just before, and a
     * VM bound a moment ago would count as unbound, letting the next VM overbook its node (seen in ScaleIT). Only
     * the VM worker (the one thread that schedules) prunes, from its own snapshot.
     */
    public String nodeOf(VirtualMachine vm) {
        return nodeOf(vm, false);
    }

    private String nodeOf(VirtualMachine vm, boolean prune) {
        String k = key(vm);
        String cached = vm.getStatus() == null ? null : vm.getStatus().nodeName;
        Optional<String> a = assumed.get(k);
        if (a == null) return cached;
        if (prune && a.equals(Optional.ofNullable(cached))) assumed.remove(k, a);
        return a.orElse(null);
    }

    public NodeState nodeState(String nodeName) {
        if (nodeName == null) return NodeState.NONE;
        VmmNode n = nodes.getByKey(nodeName);
        if (n == null) return new NodeState(NodeState.Presence.GONE, "VmmNode " + nodeName + " does not exist");
        String why = notReadyReason(n);
        return why == null ? NodeState.READY : new NodeState(NodeState.Presence.NOT_READY, "node " + nodeName + " " + why);
    }

    /**
     * When this operator last saw each node's agent report something new, by this operator's clock: node → source
     * ("status" for VmmNode status.heartbeatTime, "lease" for its Lease's renewTime) → (what was seen, when).
     * Liveness is judged from these observation times, never from the agent's clock, as the node lifecycle controller
     * does with kubelets' Leases: an agent whose clock is an hour behind is not lost, one an hour ahead that stops
     * is not kept alive.
     */
    private final Map<String, Map<String, Seen>> seen = new ConcurrentHashMap<>();

    private record Seen(String token, Instant at) {}

    /**
     * The informer delivered a heartbeat token (an agent-written timestamp, compared only for change) from
     * {@code source} for {@code node}. The first sighting counts as fresh: a new leader gives every node a full
     * timeout before judging it.
     */
    public void observeHeartbeat(String node, String source, String token) {
        if (token == null) return;
        Instant now = clock.instant();
        seen.computeIfAbsent(node, k -> new ConcurrentHashMap<>())
                .compute(source, (k, old) -> old != null && old.token().equals(token) ? old : new Seen(token, now));
    }

    public void forgetNode(String node) {
        seen.remove(node);
    }

    /** When this operator last observed a new heartbeat of the node (null: never). */
    public Instant lastObserved(String node) {
        Map<String, Seen> m = seen.get(node);
        if (m == null) return null;
        return m.values().stream().map(Seen::at).max(Instant::compareTo).orElse(null);
    }

    /** Why the node cannot take VMs, or null when it is Ready with a fresh heartbeat. */
    public String notReadyReason(VmmNode n) {
        VmmNodeStatus s = n.getStatus();
        Instant observed = lastObserved(n.getMetadata().getName());
        if ((s == null || s.heartbeatTime == null) && observed == null) return "NotReady: its agent has not reported yet";
        if (observed == null) {
            // Not delivered through the informer yet (a node read directly): count it as seen now.
            observeHeartbeat(n.getMetadata().getName(), "status", s.heartbeatTime);
            observed = lastObserved(n.getMetadata().getName());
        }
        Duration age = Duration.between(observed, clock.instant());
        if (age.compareTo(heartbeatTimeout) > 0) {
            return "NotReady: no heartbeat observed for " + age.toSeconds() + "s (timeout " + heartbeatTimeout.toSeconds()
                    + "s; the agent's last heartbeatTime, by its own clock: " + (s == null ? null : s.heartbeatTime) + ")";
        }
        if (s == null || !Conditions.isTrue(s.conditions, ConditionTypes.READY)) {
            return Conditions.find(s == null ? List.of() : s.conditions, ConditionTypes.READY)
                    .map(c -> "NotReady: " + c.getReason() + (c.getMessage() == null ? "" : " (" + c.getMessage() + ")"))
                    .orElse("NotReady: no Ready condition");
        }
        // An agent from before status.accelerators could run VMs only with KVM (newer agents say so in Ready).
        if (s.accelerators == null && s.kvm != null && Boolean.FALSE.equals(s.kvm.present)) return "NotReady: no /dev/kvm";
        return null;
    }

    /** When the node's heartbeat goes stale if nothing new is observed (null when none was). */
    public Instant staleAt(VmmNode n) {
        Instant observed = lastObserved(n.getMetadata().getName());
        return observed == null ? null : observed.plus(heartbeatTimeout);
    }

    /** {@link #held} of each VM, for the version of it last seen: parsing quantities for every VM in every decision
     * made scheduling O(VMs) in BigDecimal arithmetic per VM. */
    private final Map<String, Held> heldCache = new ConcurrentHashMap<>();

    private record Held(String resourceVersion, long cpus, long memory) {}

    private long[] heldNow(VirtualMachine vm) {
        String k = key(vm);
        String rv = vm.getMetadata().getResourceVersion();
        Held h = heldCache.get(k);
        if (h == null || rv == null || !rv.equals(h.resourceVersion())) {
            long[] v = held(vm);
            h = new Held(rv, v[0], v[1]);
            if (rv != null) heldCache.put(k, h);
        }
        return new long[] {h.cpus(), h.memory()};
    }

    /** CPUs and bytes a VM holds on its node: the larger of what runs and what its spec asks (a restart must fit). */
    public static long[] held(VirtualMachine vm) {
        long cpus = 0;
        long mem = 0;
        for (VirtualMachineSpec s : new VirtualMachineSpec[] {vm.getSpec(),
                vm.getStatus() == null ? null : vm.getStatus().runSpec}) {
            if (s == null) continue;
            if (s.cpus != null) cpus = Math.max(cpus, s.cpus);
            mem = Math.max(mem, Quantities.bytes(s.memory));
        }
        return new long[] {cpus, mem};
    }

    /** Per node: {cpus, memory, vms} held by the VMs bound to it. */
    public Map<String, long[]> allocations() {
        return allocations(false);
    }

    private Map<String, long[]> allocations(boolean prune) {
        Map<String, long[]> out = new HashMap<>();
        for (VirtualMachine vm : vms.list()) {
            String node = nodeOf(vm, prune);
            if (node == null) continue;
            long[] h = heldNow(vm);
            long[] a = out.computeIfAbsent(node, k -> new long[3]);
            a[0] += h[0];
            a[1] += h[1];
            a[2]++;
        }
        return out;
    }

    /** The nodes as the scheduler sees them; call only from the VM worker (it prunes assumptions). */
    public List<NodeView> nodeViews() {
        Map<String, long[]> alloc = allocations(true);
        List<NodeView> out = new ArrayList<>();
        for (VmmNode n : nodes.list()) {
            VmmNodeStatus s = n.getStatus();
            int cpus = s == null || s.capacity == null || s.capacity.cpus == null ? 0 : s.capacity.cpus;
            long mem = s == null || s.capacity == null ? 0 : Math.max(0, Quantities.bytes(s.capacity.memory));
            long[] a = alloc.getOrDefault(n.getMetadata().getName(), new long[3]);
            out.add(new NodeView(n.getMetadata().getName(), n.getMetadata().getLabels(), notReadyReason(n),
                    n.getSpec() != null && Boolean.TRUE.equals(n.getSpec().unschedulable), cpus, mem, (int) a[0], a[1],
                    (int) a[2], AcceleratorOffer.of(s)));
        }
        return out;
    }

    public List<VirtualMachine> vmsOn(String node) {
        return vms.list().stream().filter(vm -> node.equals(nodeOf(vm))).toList();
    }
}
