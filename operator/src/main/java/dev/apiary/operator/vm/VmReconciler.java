package dev.apiary.operator.vm;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.crds.Finalizers;
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
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Reconciles one VirtualMachine: asks {@link VmPlanner} what to do and carries it out against the API server.
 * Every write carries the resourceVersion it was decided on; on 409 Conflict the VM is read again and the decision
 * made again, so a concurrent write by the agent or a user is never overwritten blindly.
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
    /** vm key → resourceVersion of this reconciler's last write, until the informer delivers it (read-your-writes). */
    private final java.util.Map<String, String> written = new java.util.concurrent.ConcurrentHashMap<>();

    public VmReconciler(VmApi api, Store<VirtualMachine> cache, ClusterView view, VmPlanner planner,
            EventRecorder events, OperatorMetrics metrics, Clock clock, Consumer<String> parkUnschedulable) {
        this.api = api;
        this.cache = cache;
        this.view = view;
        this.planner = planner;
        this.events = events;
        this.metrics = metrics;
        this.clock = clock;
        this.parkUnschedulable = parkUnschedulable;
    }

    public Optional<Duration> reconcile(String key) {
        return metrics.timedReconcile("VirtualMachine", () -> attempt(key));
    }

    /** The informer delivered this version: writes up to it are now visible in the cache. */
    public void observed(VirtualMachine vm, boolean deleted) {
        String key = ClusterView.key(vm);
        if (deleted) {
            written.remove(key);
        } else {
            written.remove(key, vm.getMetadata().getResourceVersion());
        }
    }

    private Optional<Duration> attempt(String key) {
        VirtualMachine vm = cache.getByKey(key);
        String mine = written.get(key);
        if (vm != null && mine != null && !mine.equals(vm.getMetadata().getResourceVersion())) {
            // Our last write is not in the cache yet: deciding on the older copy could bind or start twice.
            vm = api.get(vm.getMetadata().getNamespace(), vm.getMetadata().getName());
        }
        for (int attempt = 1; ; attempt++) {
            if (vm == null) return Optional.empty();
            try {
                return apply(vm);
            } catch (KubernetesClientException e) {
                if (e.getCode() == 404) return Optional.empty();
                if (e.getCode() != 409 || attempt >= ATTEMPTS) throw e;
                LOG.debugf("conflict on %s (attempt %d); deciding again on a fresh read", key, attempt);
                String[] nsName = key.split("/", 2);
                vm = api.get(nsName[0], nsName[1]);
            }
        }
    }

    private Optional<Duration> apply(VirtualMachine vm) {
        String key = ClusterView.key(vm);
        VmPlan plan = planner.plan(vm, view.nodeState(vmNode(vm)), this::place, clock.instant());
        LOG.debugf("%s: bound=%s unschedulable=%s events=%s", key, plan.boundTo(), plan.unschedulable(), plan.events());
        VirtualMachine current = vm;
        if (plan.addOperatorFinalizer()) {
            VirtualMachine edit = copy(current);
            edit.getMetadata().setFinalizers(new ArrayList<>(Optional.ofNullable(edit.getMetadata().getFinalizers())
                    .orElse(new ArrayList<>())));
            edit.getMetadata().getFinalizers().add(Finalizers.OPERATOR);
            current = api.update(edit);
            written.put(key, current.getMetadata().getResourceVersion());
        }
        if (!sameTree(current.getStatus(), plan.status())) {
            VirtualMachine edit = copy(current);
            edit.setStatus(plan.status());
            // Assumed before the write: the informer may deliver the write before updateStatus returns.
            if (plan.boundTo() != null) view.assume(key, plan.boundTo());
            if (plan.unbound()) view.assume(key, null);
            try {
                current = api.updateStatus(edit);
            } catch (KubernetesClientException e) {
                // Only a definite refusal means the binding did not happen; after a timeout or a broken connection
                // it may have, so the capacity stays held until the VM is seen again (under-use, never overbooking).
                if (e.getCode() >= 400 && (plan.boundTo() != null || plan.unbound())) view.forgetAssumption(key);
                throw e;
            }
            written.put(key, current.getMetadata().getResourceVersion());
            if (plan.boundTo() != null) metrics.scheduled("bound");
        }
        if (plan.removeAgentFinalizer() || plan.removeOperatorFinalizer()) {
            VirtualMachine edit = copy(current);
            var fins = new ArrayList<>(Optional.ofNullable(edit.getMetadata().getFinalizers()).orElse(new ArrayList<>()));
            if (plan.removeAgentFinalizer()) fins.remove(Finalizers.AGENT);
            if (plan.removeOperatorFinalizer()) fins.remove(Finalizers.OPERATOR);
            edit.getMetadata().setFinalizers(fins);
            VirtualMachine after = api.update(edit);
            if (after == null) {
                // The last finalizer went and the server deleted the object (it answers without a body).
                written.remove(key);
            } else {
                current = after;
                written.put(key, current.getMetadata().getResourceVersion());
            }
        }
        for (VmPlan.Event e : plan.events()) {
            events.record(current, e.type(), e.reason(), e.message());
        }
        if (plan.unschedulable()) {
            metrics.scheduled("unschedulable");
            parkUnschedulable.accept(key);
        }
        return Optional.ofNullable(plan.requeueAfter());
    }

    private static String vmNode(VirtualMachine vm) {
        return vm.getStatus() == null ? null : vm.getStatus().nodeName;
    }

    private Placement place(VirtualMachineSpec spec) {
        return Scheduler.place(spec.cpus, Quantities.bytes(spec.memory), spec.nodeSelector, spec.accelerator,
                view.nodeViews());
    }

    private static VirtualMachine copy(VirtualMachine vm) {
        return JSON.convertValue(vm, VirtualMachine.class);
    }

    private static boolean sameTree(Object a, Object b) {
        return Objects.equals(JSON.valueToTree(a), JSON.valueToTree(b));
    }
}
