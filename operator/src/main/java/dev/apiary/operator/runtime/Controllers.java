package dev.apiary.operator.runtime;

import dev.apiary.crds.Labels;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmPhase;
import dev.apiary.crds.VmmNode;
import dev.apiary.operator.lifecycle.VmPlanner;
import dev.apiary.operator.node.VmmNodeReconciler;
import dev.apiary.operator.scheduling.AcceleratorOffer;
import dev.apiary.operator.vm.VmApi;
import dev.apiary.operator.vm.VmReconciler;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * The running controllers of one leader term: two informers (VirtualMachine in all namespaces, VmmNode), one work
 * queue and one reconciler per kind. Started when this replica becomes leader, stopped when it stops leading.
 */
public final class Controllers {
    private static final Logger LOG = Logger.getLogger(Controllers.class);
    /** Writes in flight at once; the decisions stay on one thread. */
    static final int WRITERS = 8;
    /** How soon a VmmNode's status.allocated follows its VMs (it is informative; scheduling counts in memory). */
    static final Duration ALLOCATION_INTERVAL = Duration.ofSeconds(2);
    private final KubernetesClient client;
    private final OperatorSettings settings;
    private final Clock clock;
    private final OperatorMetrics metrics;
    private final VmApi vmApi;
    private SharedIndexInformer<VirtualMachine> vmInformer;
    private SharedIndexInformer<VmmNode> nodeInformer;
    private SharedIndexInformer<Lease> leaseInformer;

    private WorkQueue vmQueue;
    private WorkQueue nodeQueue;
    private ClusterView view;
    private EventRecorder events;
    private VmReconciler vmReconciler;
    /** Carries out the VM worker's decisions: writes to the API server, several in flight (pipelined). */
    private ExecutorService writer;
    /** VMs that found no node, retried together when capacity may have grown. */
    private final Set<String> parked = new LinkedHashSet<>();
    private volatile boolean running;
    private volatile String notSynced;
    private final Map<String, Throwable> informerErrors = new ConcurrentHashMap<>();
    private Thread syncWaiter;

    public Controllers(KubernetesClient client, OperatorSettings settings, Clock clock, OperatorMetrics metrics,
            VmApi vmApi) {
        this.client = client;
        this.settings = settings;
        this.clock = clock;
        this.metrics = metrics;
        this.vmApi = vmApi;
    }

    /**
     * Starts the informers and returns; the work queues start once both caches have synced (a VM must never be judged
     * against an empty node list). A cache that has not synced after {@code syncTimeout} (403 on list, CRD missing,
     * API server unreachable) is reported — {@link #notSynced()} for readiness, a Warning Event on the operator's pod,
     * the log — while the informers keep retrying, instead of a silent hang.
     */
    public synchronized void start() {
        if (vmQueue != null) return;
        long resyncMs = settings.resync().toMillis();
        informerErrors.clear();
        notSynced = null;
        vmInformer = client.resources(VirtualMachine.class).inAnyNamespace().runnableInformer(resyncMs);
        nodeInformer = client.resources(VmmNode.class).runnableInformer(resyncMs);
        // Retry every failure, also of the first list (fabric8's default gives up on it: the informer would stop).
        vmInformer.exceptionHandler((started, t) -> informerFailed("VirtualMachine", t));
        nodeInformer.exceptionHandler((started, t) -> informerFailed("VmmNode", t));
        view = new ClusterView(vmInformer.getStore(), nodeInformer.getStore(), clock, settings.heartbeatTimeout());
        events = new EventRecorder(client, clock, settings.identity());
        AtomicInteger writers = new AtomicInteger();
        writer = Executors.newFixedThreadPool(WRITERS, r -> {
            Thread t = new Thread(r, "vm-writer-" + writers.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        vmReconciler = new VmReconciler(vmApi, vmInformer.getStore(), view, new VmPlanner(settings.backoff()), events,
                metrics, clock, this::park, this::retryParked, writer);
        vmQueue = WorkQueue.async("vm", vmReconciler::reconcile);
        VmmNodeReconciler nodeReconciler = new VmmNodeReconciler(client, nodeInformer.getStore(), view, events, metrics,
                clock, vmQueue::add, this::retryParked);
        nodeQueue = new WorkQueue("vmmnode", nodeReconciler::reconcile);

        vmInformer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(VirtualMachine vm) {
                seen(null, vm, false);
            }

            @Override
            public void onUpdate(VirtualMachine old, VirtualMachine vm) {
                seen(old, vm, false);
            }

            @Override
            public void onDelete(VirtualMachine vm, boolean unknownFinalState) {
                seen(vm, vm, true);
            }
        });
        nodeInformer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(VmmNode n) {
                heartbeat(n);
                nodeQueue.add(n.getMetadata().getName());
                retryParked();
            }

            @Override
            public void onUpdate(VmmNode old, VmmNode n) {
                heartbeat(n);
                nodeQueue.add(n.getMetadata().getName());
                if (schedulingFactsChanged(old, n)) retryParked();
            }

            @Override
            public void onDelete(VmmNode n, boolean unknownFinalState) {
                view.forgetNode(n.getMetadata().getName());
                nodeQueue.add(n.getMetadata().getName());
            }
        });
        // The agents' node Leases (apiary-node-<node>, renewed with each heartbeat): a renewal observed is a heartbeat
        // observed. Not needed to start: without them (RBAC, agents from before) the VmmNode heartbeat still counts.
        String leaseNs = settings.leaseNamespace() != null ? settings.leaseNamespace()
                : client.getNamespace() != null ? client.getNamespace() : "default";
        // All Leases of the namespace (one per node plus the leader's); those without the label are ignored.
        leaseInformer = client.resources(Lease.class).inNamespace(leaseNs).runnableInformer(resyncMs);
        leaseInformer.exceptionHandler((started, t) -> informerFailed("Lease", t));
        leaseInformer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Lease l) {
                renewed(l);
            }

            @Override
            public void onUpdate(Lease old, Lease l) {
                renewed(l);
            }

            @Override
            public void onDelete(Lease l, boolean unknownFinalState) {}
        });
        nodeInformer.start();
        vmInformer.start();
        leaseInformer.start();
        var vms = vmInformer;
        var nodes = nodeInformer;
        var vq = vmQueue;
        var nq = nodeQueue;
        var ev = events;
        Thread waiter = new Thread(() -> awaitSync(vms, nodes, vq, nq, ev), "controllers-sync");
        waiter.setDaemon(true);
        syncWaiter = waiter;
        waiter.start();
    }

    private void awaitSync(SharedIndexInformer<VirtualMachine> vms, SharedIndexInformer<VmmNode> nodes, WorkQueue vq,
            WorkQueue nq, EventRecorder ev) {
        long deadline = System.nanoTime() + settings.syncTimeout().toNanos();
        boolean reported = false;
        try {
            while (!vms.hasSynced() || !nodes.hasSynced()) {
                if (System.nanoTime() - deadline > 0) {
                    String why = unsynced(vms, nodes);
                    notSynced = why;
                    if (!reported) {
                        reported = true;
                        LOG.error(why);
                        ev.record(operatorPod(), "Warning", "CacheSyncTimeout", why);
                    }
                }
                TimeUnit.MILLISECONDS.sleep(20);
            }
        } catch (InterruptedException e) {
            return;
        }
        synchronized (this) {
            if (vmQueue != vq) return; // stopped (or another term started) meanwhile
            vq.start();
            nq.start();
            running = true;
            notSynced = null;
        }
        if (reported) ev.record(operatorPod(), "Normal", "CacheSynced", "informer caches synced; controllers running");
        LOG.infof("controllers started: %d VMs, %d VmmNodes", vms.getStore().list().size(), nodes.getStore().list().size());
    }

    private boolean informerFailed(String kind, Throwable t) {
        Throwable before = informerErrors.put(kind, t);
        if (before == null || !describe(before).equals(describe(t))) {
            LOG.warnf("%s informer: %s; retrying", kind, describe(t));
        }
        return true;
    }

    /** What keeps the caches from syncing, in words an administrator can act on. */
    private String unsynced(SharedIndexInformer<VirtualMachine> vms, SharedIndexInformer<VmmNode> nodes) {
        List<String> parts = new ArrayList<>();
        if (!vms.hasSynced()) parts.add(unsynced("VirtualMachine", "virtualmachines"));
        if (!nodes.hasSynced()) parts.add(unsynced("VmmNode", "vmmnodes"));
        return "informer caches not synced after " + settings.syncTimeout().toMillis() + " ms, so nothing is decided: "
                + String.join("; ", parts);
    }

    private String unsynced(String kind, String plural) {
        Throwable t = informerErrors.get(kind);
        String why = t == null ? "no answer to the first list yet (API server reachable?)" : describe(t);
        if (t != null && code(t) == 403) {
            why += " — the operator's service account may not list/watch " + plural + ".apiary.dev (deploy/operator-rbac.yaml)";
        } else if (t != null && code(t) == 404) {
            why += " — is the CRD " + plural + ".apiary.dev installed? (kubectl apply -k deploy/)";
        }
        return kind + ": " + why;
    }

    private static int code(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof KubernetesClientException k && k.getCode() > 0) return k.getCode();
        }
        return 0;
    }

    private static String describe(Throwable t) {
        int code = code(t);
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String msg = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return code > 0 ? "list/watch answered " + code + " (" + msg + ")" : msg;
    }

    /** The operator's pod (its name is the leader-election identity, HOSTNAME), for Events about the operator. */
    private Pod operatorPod() {
        String ns = settings.leaseNamespace() != null ? settings.leaseNamespace() : "default";
        return new PodBuilder().withNewMetadata().withName(settings.identity()).withNamespace(ns).endMetadata().build();
    }

    /** Why the controllers are not running although started: the informers have not synced past the deadline. */
    public String notSynced() {
        return notSynced;
    }

    private void seen(VirtualMachine old, VirtualMachine vm, boolean deleted) {
        view.observed(vm, deleted);
        vmReconciler.observed(vm, deleted);
        String node = vm.getStatus() == null ? null : vm.getStatus().nodeName;
        String oldNode = old == null || old.getStatus() == null ? null : old.getStatus().nodeName;
        if (!deleted) vmQueue.add(ClusterView.key(vm));
        // A VM's change moves only its node's status.allocated: one write per node per interval, not one per VM.
        if (node != null) nodeQueue.addSoon(node, ALLOCATION_INTERVAL);
        if (oldNode != null && !oldNode.equals(node)) nodeQueue.addSoon(oldNode, ALLOCATION_INTERVAL);
        if (deleted || (oldNode != null && node == null)) {
            synchronized (parked) {
                parked.remove(ClusterView.key(vm));
            }
            retryParked();
        }
    }

    /** A node Lease delivered: a new version is a renewal observed now; the node is looked at again soon. */
    private void renewed(Lease l) {
        String node = l.getMetadata().getLabels() == null ? null : l.getMetadata().getLabels().get(Labels.NODE_LEASE);
        if (node == null) return;
        view.observeHeartbeat(node, "lease", l.getMetadata().getResourceVersion());
        nodeQueue.addSoon(node, ALLOCATION_INTERVAL);
    }

    /** A VmmNode delivered: its heartbeatTime, if new, is a heartbeat observed now (by this operator's clock). */
    private void heartbeat(VmmNode n) {
        if (n.getStatus() != null) view.observeHeartbeat(n.getMetadata().getName(), "status", n.getStatus().heartbeatTime);
    }

    private static boolean schedulingFactsChanged(VmmNode a, VmmNode b) {
        return !Objects.equals(a.getMetadata().getLabels(), b.getMetadata().getLabels())
                || !Objects.equals(String.valueOf(a.getSpec() == null ? null : a.getSpec().unschedulable),
                        String.valueOf(b.getSpec() == null ? null : b.getSpec().unschedulable))
                || !Objects.equals(capacity(a), capacity(b))
                || !Objects.equals(ready(a), ready(b))
                || !Objects.equals(AcceleratorOffer.of(a.getStatus()), AcceleratorOffer.of(b.getStatus()));
    }

    private static String capacity(VmmNode n) {
        return n.getStatus() == null || n.getStatus().capacity == null ? null
                : n.getStatus().capacity.cpus + "/" + n.getStatus().capacity.memory;
    }

    private static String ready(VmmNode n) {
        return n.getStatus() == null ? null : n.getStatus().conditions.stream()
                .filter(c -> "Ready".equals(c.getType())).map(c -> c.getStatus()).findFirst().orElse(null);
    }

    private void park(String key) {
        synchronized (parked) {
            parked.add(key);
        }
    }

    private void retryParked() {
        Set<String> keys;
        synchronized (parked) {
            keys = new LinkedHashSet<>(parked);
            parked.clear();
        }
        keys.forEach(vmQueue::add);
    }

    public boolean running() {
        return running;
    }

    public boolean idle() {
        var vq = vmQueue;
        var nq = nodeQueue;
        return running && vq != null && nq != null && vq.idle() && nq.idle();
    }

    public int vmsInPhase(VmPhase p) {
        var informer = vmInformer;
        if (!running || informer == null) return 0;
        return (int) informer.getStore().list().stream()
                .filter(vm -> vm.getStatus() != null && vm.getStatus().phase == p).count();
    }

    public int queueDepth() {
        var vq = vmQueue;
        var nq = nodeQueue;
        return running && vq != null && nq != null ? vq.depth() + nq.depth() : 0;
    }

    public synchronized void stop() {
        if (vmQueue == null) return;
        running = false;
        notSynced = null;
        syncWaiter.interrupt();
        vmQueue.stop();
        nodeQueue.stop();
        writer.shutdownNow();
        vmInformer.stop();
        nodeInformer.stop();
        leaseInformer.stop();
        events.close();
        events = null;
        // Drop the caches with the term: a later term lists afresh, and a standby replica holds no copy.
        vmQueue = null;
        nodeQueue = null;
        vmInformer = null;
        nodeInformer = null;
        leaseInformer = null;
        view = null;
        vmReconciler = null;
        writer = null;
        synchronized (parked) {
            parked.clear();
        }
        LOG.info("controllers stopped");
    }
}
