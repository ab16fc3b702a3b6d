package dev.apiary.operator.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apiary.crds.ConditionTypes;
import dev.apiary.crds.MergePatch;
import dev.apiary.crds.VmmNode;
import dev.apiary.crds.VmmNodeStatus;
import dev.apiary.operator.lifecycle.Conditions;
import dev.apiary.operator.runtime.ClusterView;
import dev.apiary.operator.runtime.EventRecorder;
import dev.apiary.operator.runtime.OperatorMetrics;
import dev.apiary.operator.scheduling.Quantities;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.cache.Store;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Reconciles one VmmNode: marks it Ready=Unknown when its heartbeat is older than the timeout (the agent owns
 * Ready=True), keeps {@code status.allocated} equal to what its VMs hold, and when its readiness flips hands its
 * VMs to the VM reconciler (Unknown on loss, back to the agent on return) and retries VMs waiting for capacity.
 */
public final class VmmNodeReconciler {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final KubernetesClient client;
    private final Store<VmmNode> cache;
    private final ClusterView view;
    private final EventRecorder events;
    private final OperatorMetrics metrics;
    private final Clock clock;
    private final Consumer<String> enqueueVm;
    private final Runnable capacityChanged;
    private final Map<String, Boolean> lastReady = new ConcurrentHashMap<>();

    public VmmNodeReconciler(KubernetesClient client, Store<VmmNode> cache, ClusterView view, EventRecorder events,
            OperatorMetrics metrics, Clock clock, Consumer<String> enqueueVm, Runnable capacityChanged) {
        this.client = client;
        this.cache = cache;
        this.view = view;
        this.events = events;
        this.metrics = metrics;
        this.clock = clock;
        this.enqueueVm = enqueueVm;
        this.capacityChanged = capacityChanged;
    }

    public Optional<Duration> reconcile(String name) {
        return metrics.timedReconcile("VmmNode", () -> attempt(name));
    }

    private Optional<Duration> attempt(String name) {
        VmmNode node = cache.getByKey(name);
        if (node == null) {
            lastReady.remove(name);
            view.vmsOn(name).forEach(vm -> enqueueVm.accept(ClusterView.key(vm)));
            capacityChanged.run();
            return Optional.empty();
        }
        for (int attempt = 1; ; attempt++) {
            try {
                return apply(node);
            } catch (KubernetesClientException e) {
                if (e.getCode() == 404) return Optional.empty();
                if (e.getCode() != 409 || attempt >= 5) throw e;
                node = client.resources(VmmNode.class).withName(name).get();
                if (node == null) return Optional.empty();
            }
        }
    }

    private Optional<Duration> apply(VmmNode node) {
        String name = node.getMetadata().getName();
        Instant now = clock.instant();
        VmmNodeStatus st = node.getStatus() == null ? new VmmNodeStatus()
                : JSON.convertValue(node.getStatus(), VmmNodeStatus.class);
        if (st.conditions == null) st.conditions = new ArrayList<>();
        String notReady = view.notReadyReason(node);
        boolean stale = false;
        Instant staleAt = view.staleAt(node);
        if (staleAt != null && now.isAfter(staleAt) && Conditions.isTrue(st.conditions, ConditionTypes.READY)) {
            stale = true;
            Conditions.set(st.conditions, ConditionTypes.READY, Conditions.UNKNOWN, "HeartbeatTimeout",
                    "the vmm-agent stopped reporting: " + notReady, now, null);
        }
        long[] a = view.allocations().getOrDefault(name, new long[3]);
        VmmNodeStatus.Allocated alloc = new VmmNodeStatus.Allocated();
        alloc.cpus = (int) a[0];
        alloc.memory = Quantities.quantity(a[1]);
        alloc.vms = (int) a[2];
        st.allocated = alloc;
        VmmNode written = node;
        // Only what changed (allocated, Ready on a stale heartbeat), conditional on the version read: the agent's
        // fields, and fields a newer agent writes that this model does not know, stay as they are.
        ObjectNode diff = MergePatch.diff(JSON.valueToTree(node.getStatus()), JSON.valueToTree(st));
        if (!diff.isEmpty()) {
            ObjectNode patch = JSON.createObjectNode();
            // allocated is the operator's alone and computed afresh: it needs no version (and no re-read after the
            // cache lags behind the last write). Anything else, the Ready condition in a list both sides write, does.
            if (diff.size() > 1 || !diff.has("allocated")) {
                patch.putObject("metadata").put("resourceVersion", node.getMetadata().getResourceVersion());
            }
            patch.set("status", diff);
            written = client.resources(VmmNode.class).resource(node).subresource("status")
                    .patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
        }
        if (stale) events.record(written, "Warning", "NodeNotReady", "node " + name + " " + notReady);
        boolean ready = notReady == null;
        Boolean before = lastReady.put(name, ready);
        if (before == null || before != ready) {
            view.vmsOn(name).forEach(vm -> enqueueVm.accept(ClusterView.key(vm)));
            if (ready) capacityChanged.run();
        }
        // Look again when the heartbeat would go stale, so node loss is noticed on time without polling.
        if (ready && staleAt != null) {
            return Optional.of(Duration.between(now, staleAt).plusMillis(50));
        }
        return Optional.empty();
    }
}
