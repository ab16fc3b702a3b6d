package dev.apiary.operator.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.Labels;
import dev.apiary.crds.MergePatch;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineSpec;
import dev.apiary.operator.lifecycle.VmPlan;
import dev.apiary.operator.lifecycle.VmPlanner;
import dev.apiary.operator.runtime.ClusterView;
import dev.apiary.operator.runtime.EventRecorder;
import dev.apiary.operator.runtime.OperatorMetrics;
import dev.apiary.operator.scheduling.Placement;
import dev.apiary.operator.scheduling.Quantities;
import dev.apiary.operator.scheduling.Scheduler;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.cache.Store;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Reconciles one VirtualMachine: asks {@link VmPlanner} what to do and carries it out against the API server, in two
 * halves as kube-scheduler's assume-then-bind does. The decision runs on the VM worker, one at a time, and takes the
 * placement in {@link ClusterView} at once, so the next decision already counts it (no overbooking). The writes run
 * on the writer pool, pipelined across VMs; a write the server refuses un-assumes the placement and the VM is decided
 * again (at once on 409 Conflict, from a fresh read; with the work queue's backoff otherwise).
 *
 * <p>Every write is a JSON merge patch of what the decision changed, conditional on the resourceVersion it was decided
 * on: status first (the binding, the run), then the metadata (finalizers, the node label) in one patch.
 */
public final class VmReconciler {
    private static final Logger LOG = Logger.getLogger(VmReconciler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int ATTEMPTS = 5;

    private final VmApi api;
    private final Store<VirtualMachine> cache;
    private final ClusterView view;
    private final VmPlanner planner;
    private final EventRecorder events;
    private final OperatorMetrics metrics;
    private final Clock clock;
    private final Consumer<String> parkUnschedulable;
    private final Runnable capacityFreed;
    private final Executor writer;
    /**
     * vm key → a copy newer than the cache may hold: what this reconciler's last write returned, or a fresh read after
     * a conflict, until the informer delivers that version (read-your-writes).
     */
    private final Map<String, VirtualMachine> newer = new ConcurrentHashMap<>();
    /** vm key → conflicts in a row. */
    private final Map<String, Integer> conflicts = new ConcurrentHashMap<>();

    public VmReconciler(VmApi api, Store<VirtualMachine> cache, ClusterView view, VmPlanner planner,
            EventRecorder events, OperatorMetrics metrics, Clock clock, Consumer<String> parkUnschedulable,
            Runnable capacityFreed, Executor writer) {
        this.api = api;
        this.cache = cache;
        this.view = view;
        this.planner = planner;
        this.events = events;
        this.metrics = metrics;
        this.clock = clock;
        this.parkUnschedulable = parkUnschedulable;
        this.capacityFreed = capacityFreed;
        this.writer = writer;
    }

    public CompletionStage<Optional<Duration>> reconcile(String key) {
        return metrics.timedReconcileAsync("VirtualMachine", () -> decide(key));
    }

    /** The informer delivered this version: writes up to it are now visible in the cache. */
    public void observed(VirtualMachine vm, boolean deleted) {
        String key = ClusterView.key(vm);
        if (deleted) {
            newer.remove(key);
            conflicts.remove(key);
        } else {
            newer.computeIfPresent(key, (k, mine) -> rv(mine).equals(rv(vm)) ? null : mine);
        }
    }

    /** The copy to decide on: the cache's, unless this reconciler holds a newer one. */
    private VirtualMachine current(String key) {
        VirtualMachine cached = cache.getByKey(key);
        VirtualMachine mine = newer.get(key);
        if (cached == null || mine == null) return cached;
        String c = rv(cached);
        String m = rv(mine);
        if (c.equals(m)) {
            newer.remove(key, mine);
            return cached;
        }
        // resourceVersions are opaque; where both are numbers (etcd's, the mock's) the larger is the later one, which
        // saves a read. Otherwise read: deciding on a copy older than our own write could bind or start twice.
        try {
            if (Long.parseLong(c) > Long.parseLong(m)) {
                newer.remove(key, mine);
                return cached;
            }
            return mine;
        } catch (NumberFormatException e) {
            String[] nsName = key.split("/", 2);
            return api.get(nsName[0], nsName[1]);
        }
    }

    private CompletionStage<Optional<Duration>> decide(String key) {
        VirtualMachine vm = current(key);
        if (vm == null) return CompletableFuture.completedFuture(Optional.empty());
        VmPlan plan = planner.plan(vm, view.nodeState(vmNode(vm)), this::place, clock.instant());
        LOG.debugf("%s: bound=%s unschedulable=%s events=%s", key, plan.boundTo(), plan.unschedulable(), plan.events());
        ObjectNode status = MergePatch.diff(JSON.valueToTree(vm.getStatus()), JSON.valueToTree(plan.status()));
        ObjectNode metadata = metadataChanges(vm, plan);
        if (plan.unschedulable()) {
            metrics.scheduled("unschedulable");
            parkUnschedulable.accept(key);
        }
        if (status.isEmpty() && metadata.isEmpty()) {
            conflicts.remove(key);
            record(vm, plan);
            return CompletableFuture.completedFuture(Optional.ofNullable(plan.requeueAfter()));
        }
        // Assume: the placement (or its release) counts from now on, before the write lands.
        if (plan.boundTo() != null) view.assume(key, plan.boundTo());
        if (plan.unbound()) view.assume(key, null);
        return CompletableFuture.supplyAsync(() -> write(key, vm, plan, status, metadata), writer)
                .exceptionally(e -> retry(key, e));
    }

    /**
     * The metadata members the plan changes, as a merge patch (empty when none): the finalizer list, and the label
     * {@code apiary.dev/node} that follows {@code status.nodeName} so that each agent can watch only its own VMs.
     */
    private static ObjectNode metadataChanges(VirtualMachine vm, VmPlan plan) {
        ObjectNode out = JSON.createObjectNode();
        List<String> now = vm.getMetadata().getFinalizers() == null ? List.of() : vm.getMetadata().getFinalizers();
        List<String> fins = new ArrayList<>(now);
        if (plan.addOperatorFinalizer() && !fins.contains(Finalizers.OPERATOR)) fins.add(Finalizers.OPERATOR);
        if (plan.removeAgentFinalizer()) fins.remove(Finalizers.AGENT);
        if (plan.removeOperatorFinalizer()) fins.remove(Finalizers.OPERATOR);
        if (!fins.equals(now)) out.set("finalizers", JSON.valueToTree(fins));
        String node = plan.status().nodeName;
        String labelled = vm.getMetadata().getLabels() == null ? null : vm.getMetadata().getLabels().get(Labels.NODE);
        // No label on an object whose deletion can complete with this write: nothing would read it.
        boolean goes = vm.getMetadata().getDeletionTimestamp() != null && fins.isEmpty();
        if (!Objects.equals(node, labelled) && !goes) {
            ObjectNode labels = out.putObject("labels");
            if (node == null) labels.putNull(Labels.NODE);
            else labels.put(Labels.NODE, node);
        }
        return out;
    }

    /** On the writer pool: the status patch, then the metadata patch, each on the version the previous one made. */
    private Optional<Duration> write(String key, VirtualMachine vm, VmPlan plan, ObjectNode status, ObjectNode metadata) {
        VirtualMachine current = vm;
        if (!status.isEmpty()) {
            ObjectNode patch = versioned(rv(current));
            patch.set("status", status);
            try {
                current = api.patchStatus(current, patch);
            } catch (KubernetesClientException e) {
                // Only a definite refusal means the binding did not happen; after a timeout or a broken connection
                // it may have, so the capacity stays held until the VM is seen again (under-use, never overbooking).
                if (e.getCode() >= 400 && (plan.boundTo() != null || plan.unbound())) {
                    view.forgetAssumption(key);
                    // VMs that found no room while this placement was assumed may fit now.
                    if (plan.boundTo() != null) capacityFreed.run();
                }
                throw e;
            }
            newer.put(key, current);
            if (plan.boundTo() != null) metrics.scheduled("bound");
        }
        if (!metadata.isEmpty()) {
            ObjectNode patch = versioned(rv(current));
            ((ObjectNode) patch.get("metadata")).setAll(metadata);
            VirtualMachine after = api.patch(current, patch);
            if (after == null || after.getMetadata() == null) {
                // The last finalizer went and the server deleted the object (it answers without a body).
                newer.remove(key);
            } else {
                current = after;
                newer.put(key, current);
            }
        }
        conflicts.remove(key);
        record(current, plan);
        return Optional.ofNullable(plan.requeueAfter());
    }

    /** A refused write: on 409 decide again at once on a fresh read (a few times), else let the queue back off. */
    private Optional<Duration> retry(String key, Throwable failure) {
        Throwable e = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        if (e instanceof KubernetesClientException k) {
            if (k.getCode() == 404) {
                newer.remove(key);
                return Optional.empty();
            }
            if (k.getCode() == 409 && conflicts.merge(key, 1, Integer::sum) < ATTEMPTS) {
                LOG.debugf("conflict on %s; deciding again on a fresh read", key);
                String[] nsName = key.split("/", 2);
                VirtualMachine fresh = api.get(nsName[0], nsName[1]);
                if (fresh == null) return Optional.empty();
                newer.put(key, fresh);
                return Optional.of(Duration.ZERO);
            }
        }
        conflicts.remove(key);
        throw e instanceof RuntimeException r ? r : new CompletionException(e);
    }

    private void record(VirtualMachine vm, VmPlan plan) {
        for (VmPlan.Event e : plan.events()) {
            events.record(vm, e.type(), e.reason(), e.message());
        }
    }

    private static ObjectNode versioned(String resourceVersion) {
        ObjectNode patch = JSON.createObjectNode();
        patch.putObject("metadata").put("resourceVersion", resourceVersion);
        return patch;
    }

    private static String rv(VirtualMachine vm) {
        return String.valueOf(vm.getMetadata().getResourceVersion());
    }

    private static String vmNode(VirtualMachine vm) {
        return vm.getStatus() == null ? null : vm.getStatus().nodeName;
    }

    private Placement place(VirtualMachineSpec spec) {
        return Scheduler.place(spec.cpus, Quantities.bytes(spec.memory), spec.nodeSelector, spec.accelerator,
                view.nodeViews());
    }
}
