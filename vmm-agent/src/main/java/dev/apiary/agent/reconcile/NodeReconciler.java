package dev.apiary.agent.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apiary.agent.runtime.ControlClient;
import dev.apiary.agent.runtime.LocalRun;
import dev.apiary.agent.runtime.ReapedExit;
import dev.apiary.agent.net.VmNetwork;
import dev.apiary.agent.runtime.RunDir;
import dev.apiary.agent.runtime.RunIdentity;
import dev.apiary.agent.runtime.StopRequest;
import dev.apiary.agent.runtime.VmmLauncher;
import dev.apiary.agent.runtime.VmmProcesses;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.Labels;
import dev.apiary.crds.MergePatch;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineStatus;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.jboss.logging.Logger;

/**
 * Carries out {@link AgentPlanner}'s plans on one thread: watches the VirtualMachines labelled
 * {@code apiary.dev/node=<this node>} (an informer; the operator sets the label with each binding, since the API
 * server cannot select custom resources by status.nodeName), looks at the runtime directories, plans, acts. Runs on every
 * VM event, whenever a VMM ends, and at least every {@code resync}. API errors are logged and retried on the next
 * pass; they never stop a VM.
 */
public final class NodeReconciler implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NodeReconciler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final KubernetesClient client;
    private final String node;
    private final Path runtimeRoot;
    private final VmmProcesses processes;
    private final AgentPlanner planner;
    private final Clock clock;
    private final Duration resync;
    private final String endpoint;
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-reconciler");
        t.setDaemon(true);
        return t;
    });
    private final AtomicBoolean queued = new AtomicBoolean();
    private SharedIndexInformer<VirtualMachine> informer;
    private volatile Throwable informerError;
    private volatile Instant informerStarted;
    private volatile String notSynced;
    private final Duration syncTimeout;
    private final VmNetwork network;

    public NodeReconciler(KubernetesClient client, String node, Path runtimeRoot, List<String> vmmCommand,
            VmmLauncher launcher, Path imageRoot, Duration stopGrace, Duration resync, String endpoint, Clock clock,
            Duration syncTimeout) {
        this(client, node, runtimeRoot, vmmCommand, launcher, imageRoot, stopGrace, resync, endpoint, clock, syncTimeout,
                new VmNetwork(VmNetwork.Settings.none()));
    }

    /** @param network makes the TAPs of a VM's tap networks before its VMM starts, removes them after */
    public NodeReconciler(KubernetesClient client, String node, Path runtimeRoot, List<String> vmmCommand,
            VmmLauncher launcher, Path imageRoot, Duration stopGrace, Duration resync, String endpoint, Clock clock,
            Duration syncTimeout, VmNetwork network) {
        this.network = network;
        this.client = client;
        this.node = node;
        this.runtimeRoot = runtimeRoot;
        this.processes = new VmmProcesses(vmmCommand, launcher, imageRoot, this::trigger);
        this.planner = new AgentPlanner(node, stopGrace, Duration.ofSeconds(5));
        this.clock = clock;
        this.resync = resync;
        this.endpoint = endpoint;
        this.syncTimeout = syncTimeout;
    }

    public void start() throws IOException {
        Files.createDirectories(runtimeRoot);
        // Adopt what already runs before anything else: a pass without a synced cache touches nothing it does not know.
        trigger();
        // Only the VMs the operator has bound here (it keeps the label equal to status.nodeName): the API server
        // filters, so an agent's cache and watch traffic grow with its own VMs, not the cluster's.
        informer = client.resources(VirtualMachine.class).inAnyNamespace().withLabel(Labels.NODE, node)
                .runnableInformer(0);
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(VirtualMachine vm) {
                trigger();
            }

            @Override
            public void onUpdate(VirtualMachine old, VirtualMachine vm) {
                trigger();
            }

            @Override
            public void onDelete(VirtualMachine vm, boolean unknown) {
                trigger();
            }
        });
        // Retry every failure, the first list's too (fabric8's default gives up on it and the informer stops): a 403
        // until RBAC is applied, or a CRD installed after the agent, must not need an agent restart. Until the cache
        // syncs, passes touch nothing they do not know (rule 5); past syncTimeout it is reported (notSynced()).
        informer.exceptionHandler((started, t) -> {
            Throwable before = informerError;
            informerError = t;
            if (before == null || !String.valueOf(before.getMessage()).equals(String.valueOf(t.getMessage()))) {
                LOG.warnf("VirtualMachine informer: %s; retrying", describe(t));
            }
            return true;
        });
        informerStarted = clock.instant();
        informer.start();
        loop.scheduleWithFixedDelay(this::trigger, resync.toMillis(), resync.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Asks for a pass soon; passes requested while one is queued fold into it. */
    public void trigger() {
        if (queued.compareAndSet(false, true)) {
            try {
                loop.execute(() -> {
                    queued.set(false);
                    pass();
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                queued.set(false);
            }
        }
    }

    /** The VMs as last seen (the informer's cache), whether that cache has synced, and the local runs. */
    public List<VirtualMachine> cachedVms() {
        return informer == null ? List.of() : informer.getStore().list();
    }

    public List<LocalRun> localRuns() {
        List<LocalRun> out = new ArrayList<>();
        for (RunDir d : RunDir.scan(runtimeRoot)) {
            LocalRun r = processes.observe(d);
            if (r != null) out.add(r);
        }
        return out;
    }

    public RunDir dirOf(String uid) {
        return RunDir.of(runtimeRoot, uid);
    }

    void pass() {
        try {
            boolean synced = informer != null && informer.hasSynced();
            checkSync(synced);
            List<LocalRun> runs = localRuns();
            for (LocalRun r : runs) {
                if (!r.alive() && VmNetwork.holdsTaps(r.dir())) network.release(r.dir()); // the run is over
            }
            List<Action> plan = planner.plan(cachedVms(), synced, runs, endpoint, clock.instant());
            for (Action a : plan) {
                try {
                    act(a);
                } catch (KubernetesClientException e) {
                    LOG.warnf("%s: API server said %d %s (retried on the next pass)", describe(a), e.getCode(),
                            e.getMessage());
                    if (a instanceof Action.Launch) return; // the rest of the plan assumed the launch
                } catch (IOException | RuntimeException e) {
                    LOG.warnf(e, "%s failed (retried on the next pass)", describe(a));
                }
            }
            if (plan.stream().anyMatch(a -> !(a instanceof Action.Report))) trigger();
            else if (runs.stream().anyMatch(r -> r.alive() && (r.state() == null
                    || !"Running".equals(r.state().phase()) || r.stop() != null))) {
                // A VMM is starting or stopping: look again soon rather than at the next resync.
                loop.schedule(this::trigger, 50, TimeUnit.MILLISECONDS);
            }
        } catch (RuntimeException e) {
            LOG.warnf(e, "reconcile pass failed");
        }
    }

    /** Past syncTimeout without a synced cache: say why, once as an Event on the VmmNode, always in readiness. */
    private void checkSync(boolean synced) {
        if (synced) {
            if (notSynced != null) LOG.infof("VirtualMachine informer synced");
            notSynced = null;
            return;
        }
        Instant since = informerStarted;
        if (since == null || !clock.instant().isAfter(since.plus(syncTimeout))) return;
        Throwable t = informerError;
        int code = code(t);
        String why = "VirtualMachine cache not synced after " + syncTimeout.toMillis() + " ms, so no VM is started or"
                + " stopped (running VMMs keep running): " + (t == null ? "no answer to the first list yet" : describe(t))
                + (code == 403 ? " — the agent's service account may not list/watch virtualmachines.apiary.dev"
                        + " (deploy/agent-rbac.yaml)" : "")
                + (code == 404 ? " — is the CRD virtualmachines.apiary.dev installed? (kubectl apply -k deploy/)" : "");
        boolean first = notSynced == null;
        notSynced = why;
        if (first) {
            LOG.error(why);
            event("Warning", "CacheSyncTimeout", why);
        }
    }

    private void event(String type, String reason, String message) {
        String now = clock.instant().toString();
        try {
            client.v1().events().inNamespace("default").resource(new EventBuilder().withNewMetadata()
                    .withName(node + "." + Long.toHexString(System.nanoTime())).withNamespace("default").endMetadata()
                    .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion("apiary.dev/v1alpha1")
                            .withKind("VmmNode").withName(node).build())
                    .withType(type).withReason(reason).withMessage(message).withFirstTimestamp(now)
                    .withLastTimestamp(now).withCount(1).withNewSource().withComponent("apiary-agent").withHost(node)
                    .endSource().build()).create();
        } catch (KubernetesClientException e) {
            LOG.debugf("event %s not recorded: %s", reason, e.getMessage());
        }
    }

    private static int code(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof KubernetesClientException k && k.getCode() > 0) return k.getCode();
        }
        return 0;
    }

    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String msg = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        int code = code(t);
        return code > 0 ? "list/watch answered " + code + " (" + msg + ")" : msg;
    }

    /** Why the VM cache has not synced although it should have by now, or null (for readiness). */
    public String notSynced() {
        return notSynced;
    }

    private void act(Action a) throws IOException {
        if (a instanceof Action.Launch l) {
            launch(l.vm(), l.runId());
        } else if (a instanceof Action.PowerButton p) {
            if (p.orphan() && !confirmedOrphan(p.run())) return;
            p.run().dir().write(RunDir.STOP, new StopRequest(clock.millis(), p.graceMillis(), p.reason()));
            LOG.infof("stopping %s run %d (pid %s): %s; power button, hard stop in %d ms", p.run().id().key(),
                    p.run().runId(), p.run().pid(), p.reason(), p.graceMillis());
            control(p.run(), "/v1/shutdown");
            if (p.graceMillis() == 0) control(p.run(), "/v1/stop");
        } else if (a instanceof Action.HardStop h) {
            if (h.orphan() && !confirmedOrphan(h.run())) return;
            control(h.run(), "/v1/stop");
        } else if (a instanceof Action.Kill k) {
            if (k.orphan() && !confirmedOrphan(k.run())) return;
            LOG.warnf("VMM pid %d of %s did not stop; SIGKILL", k.run().pid(), k.run().id().key());
            processes.kill(k.run().pid(), k.run().dir().path());
        } else if (a instanceof Action.Cleanup c) {
            if (c.orphan() && !confirmedOrphan(c.run())) return;
            LOG.infof("removing runtime directory %s of %s", c.run().dir().path(), c.run().id().key());
            network.release(c.run().dir());
            c.run().dir().delete();
        } else if (a instanceof Action.Report r) {
            writeStatus(r);
        } else if (a instanceof Action.ReleaseFinalizer f) {
            finalizer(f.namespace(), f.name(), f.uid(), false);
        }
    }

    private void launch(VirtualMachine vm, long runId) throws IOException {
        String ns = vm.getMetadata().getNamespace();
        String name = vm.getMetadata().getName();
        String uid = vm.getMetadata().getUid();
        // The finalizer first: a VM deleted from now on waits for this agent to stop its VMM.
        if (!finalizer(ns, name, uid, true)) return;
        VirtualMachine spec = new VirtualMachine();
        spec.setMetadata(new ObjectMeta());
        spec.getMetadata().setName(name);
        spec.getMetadata().setNamespace(ns);
        spec.getMetadata().setUid(uid);
        spec.getMetadata().setAnnotations(vm.getMetadata().getAnnotations());
        spec.setSpec(vm.getStatus().runSpec != null ? vm.getStatus().runSpec : vm.getSpec());
        RunDir dir = RunDir.of(runtimeRoot, uid);
        RunIdentity id = new RunIdentity(ns, name, uid, runId, null, clock.instant().toString());
        network.release(dir); // the last run's TAPs, if it ended while no agent watched
        dir.prepare(JSON.writeValueAsBytes(spec), id);
        try {
            // The TAPs before the VMM, which is told their names in the spec it is given.
            spec.setSpec(network.provision(uid, spec.getSpec(), dir));
            dir.write(RunDir.SPEC, spec);
            processes.launch(dir, id);
        } catch (IOException e) {
            network.release(dir);
            // The VM's status must say why it did not start: record it as the VMM's own error line would be.
            Files.writeString(dir.file(RunDir.VMM_LOG), "agent: cannot start the VMM: " + e.getMessage() + "\n",
                    StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
            dir.write(RunDir.REAPED, new ReapedExit(127, clock.instant().toString()));
            trigger();
            return;
        }
        // Report Starting right away, with the pid: this is what the operator waits for.
        LocalRun r = processes.observe(dir);
        if (r != null) {
            AgentStatus s = RunReport.of(r, endpoint);
            writeStatus(new Action.Report(ns, name, uid, s));
        }
    }

    private void control(LocalRun r, String path) {
        try {
            ControlClient.Response resp = ControlClient.post(r.dir().file(RunDir.CONTROL), path);
            if (!resp.ok()) LOG.warnf("%s of %s answered %d %s", path, r.id().key(), resp.status(), resp.body());
        } catch (IOException e) {
            // No control socket (VMM still starting, or wedged): the next step of the sequence comes after the grace.
            LOG.debugf("%s of %s: control socket: %s", path, r.id().key(), e.getMessage());
        }
    }

    /** A fresh read: the VM is really gone, or another VM now holds the name, or it is bound to another node. */
    private boolean confirmedOrphan(LocalRun r) {
        try {
            VirtualMachine vm = client.resources(VirtualMachine.class).inNamespace(r.id().namespace())
                    .withName(r.id().name()).get();
            return vm == null || !r.uid().equals(vm.getMetadata().getUid()) || vm.getStatus() == null
                    || !node.equals(vm.getStatus().nodeName);
        } catch (KubernetesClientException e) {
            return false;
        }
    }

    private void writeStatus(Action.Report r) {
        edit(r.namespace(), r.name(), r.uid(), vm -> {
            if (r.status().isReflectedIn(vm.getStatus())) return null;
            vm.setStatus(r.status().applyTo(vm.getStatus(), clock.instant().toString()));
            return vm;
        }, true);
    }

    /** Adds or removes the agent finalizer; false when the VM is gone (or is another VM by now). */
    private boolean finalizer(String ns, String name, String uid, boolean add) {
        return edit(ns, name, uid, vm -> {
            List<String> f = new ArrayList<>(Objects.requireNonNullElse(vm.getMetadata().getFinalizers(), List.of()));
            if (add == f.contains(Finalizers.AGENT)) return null;
            if (add && vm.getMetadata().getDeletionTimestamp() != null) return null;
            if (add) f.add(Finalizers.AGENT);
            else f.remove(Finalizers.AGENT);
            vm.getMetadata().setFinalizers(f);
            return vm;
        }, false);
    }

    /**
     * Read, edit, write with the read's resourceVersion; on 409 read again (up to 5 times). The write is a JSON merge
     * patch of what the edit changed (status members, or metadata such as the finalizer list), so fields this model
     * does not know — written by a newer operator or agent during a rolling upgrade — are never sent, never erased.
     */
    private boolean edit(String ns, String name, String uid, UnaryOperator<VirtualMachine> change, boolean status) {
        var res = client.resources(VirtualMachine.class).inNamespace(ns);
        String part = status ? "status" : "metadata";
        for (int attempt = 1; ; attempt++) {
            VirtualMachine vm = res.withName(name).get();
            if (vm == null || !uid.equals(vm.getMetadata().getUid())) return false;
            JsonNode before = JSON.valueToTree(vm).get(part);
            VirtualMachine edited = change.apply(vm);
            if (edited == null) return true;
            ObjectNode diff = MergePatch.diff(before, JSON.valueToTree(edited).get(part));
            if (diff.isEmpty()) return true;
            ObjectNode patch = JSON.createObjectNode();
            ObjectNode meta = patch.putObject("metadata");
            if (!status) meta.setAll(diff);
            meta.put("resourceVersion", vm.getMetadata().getResourceVersion());
            if (status) patch.set("status", diff);
            try {
                var target = res.resource(vm);
                if (status) target.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
                else target.patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
                return true;
            } catch (KubernetesClientException e) {
                if (e.getCode() == 404) return false;
                if (e.getCode() != 409 || attempt >= 5) throw e;
            }
        }
    }

    private static String describe(Action a) {
        if (a instanceof Action.Launch l) {
            return "launch of " + l.vm().getMetadata().getNamespace() + "/" + l.vm().getMetadata().getName()
                    + " run " + l.runId();
        }
        if (a instanceof Action.Report r) return "status of " + r.namespace() + "/" + r.name();
        if (a instanceof Action.ReleaseFinalizer f) return "finalizer release on " + f.namespace() + "/" + f.name();
        return a.getClass().getSimpleName();
    }

    @Override
    public void close() {
        processes.close();
        if (informer != null) informer.stop();
        loop.shutdownNow();
        try {
            loop.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean synced() {
        return informer != null && informer.hasSynced();
    }

    /** For the API: the VM of a uid as last seen. */
    public VirtualMachine cachedVm(String namespace, String name) {
        return informer == null ? null : informer.getStore().getByKey(namespace + "/" + name);
    }

    public String node() {
        return node;
    }

    static VirtualMachineStatus statusOf(VirtualMachine vm) {
        return vm.getStatus();
    }
}
