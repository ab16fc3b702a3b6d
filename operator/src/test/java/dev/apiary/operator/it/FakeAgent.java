package dev.apiary.operator.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apiary.crds.Accelerator;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.Labels;
import dev.apiary.crds.MergePatch;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineSpec;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VirtualMachineStatus.DesiredState;
import dev.apiary.crds.VmPhase;
import dev.apiary.crds.VmmNode;
import dev.apiary.crds.VmmNodeStatus;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpecBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * Plays the vmm-agent's side of the contract in docs/operator.md, against the mock API server: registers and
 * heartbeats its VmmNode; for VMs bound to its node, adds the agent finalizer before "starting" run status.runId,
 * reports Running, stops when desiredState is Stopped or the VM is being deleted, and then lets go of the finalizer.
 * Tests make runs end with {@link #end}.
 */
public final class FakeAgent implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    final KubernetesClient client;
    final String node;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    /** Heartbeats on their own thread, so a slow pass over the VMs never makes the node look lost. */
    private final ScheduledExecutorService beat = Executors.newSingleThreadScheduledExecutor();
    private ScheduledFuture<?> heartbeats;
    private ScheduledFuture<?> runner;
    private long pid = 1000;

    FakeAgent(KubernetesClient client, String node, int cpus, String memory, Map<String, String> labels) {
        this.client = client;
        this.node = node;
        VmmNode n = new VmmNode();
        n.setMetadata(new ObjectMetaBuilder().withName(node).withLabels(labels).build());
        client.resources(VmmNode.class).resource(n).create();
        nodeStatus(st -> {
            st.capacity = new VmmNodeStatus.Resources();
            st.capacity.cpus = cpus;
            st.capacity.memory = new Quantity(memory);
            st.kvm = new VmmNodeStatus.Kvm();
            st.kvm.present = true;
            st.kvm.apiVersion = 12;
            st.kvm.fullGuests = false;
            st.kvm.reason = "nested PVM: kernel-mode guest code is emulated";
            st.accelerators = offers(true);
            st.endpoint = "https://" + node + ":9443";
        });
        heartbeat();
    }

    /** Whether this node's KVM is usable (its VmmNode says so); the software CPU is always there. */
    private volatile boolean kvm = true;

    /** From now on this node has no usable KVM, as a host without /dev/kvm: VMs run on the software CPU. */
    public FakeAgent withoutKvm() {
        kvm = false;
        nodeStatus(st -> {
            st.kvm.present = false;
            st.kvm.apiVersion = null;
            st.kvm.fullGuests = null;
            st.kvm.reason = "/dev/kvm does not exist";
            st.accelerators = offers(false);
        });
        return this;
    }

    private static List<VmmNodeStatus.AcceleratorInfo> offers(boolean kvm) {
        return List.of(new VmmNodeStatus.AcceleratorInfo("KVM", kvm, false,
                        kvm ? "nested PVM: kernel-mode guest code is emulated" : "/dev/kvm does not exist"),
                new VmmNodeStatus.AcceleratorInfo("Emulated", true, false, "software x86-64 CPU"));
    }

    /** How far this node's clock is off (its heartbeatTime and Lease renewTime are written by it). */
    private volatile java.time.Duration skew = java.time.Duration.ZERO;

    public FakeAgent withClockSkew(java.time.Duration d) {
        skew = d;
        return this;
    }

    /** One heartbeat: heartbeatTime now (by this node's clock) and Ready=True. */
    public void heartbeat() {
        nodeStatus(st -> {
            st.heartbeatTime = Instant.now().plus(skew).toString();
            st.conditions.removeIf(c -> "Ready".equals(c.getType()));
            st.conditions.add(new ConditionBuilder().withType("Ready").withStatus("True")
                    .withReason("AgentReady").withMessage("vmm-agent reporting")
                    .withLastTransitionTime(Instant.now().toString()).build());
        });
    }

    /** A VmmNode status write from a fresh read, retried on conflict (the operator writes status.allocated). */
    private void nodeStatus(java.util.function.Consumer<VmmNodeStatus> edit) {
        for (int i = 0; i < 20; i++) {
            try {
                VmmNode n = client.resources(VmmNode.class).withName(node).get();
                JsonNode before = JSON.valueToTree(n.getStatus());
                if (n.getStatus() == null) n.setStatus(new VmmNodeStatus());
                edit.accept(n.getStatus());
                client.resources(VmmNode.class).resource(n).subresource("status").patch(
                        PatchContext.of(PatchType.JSON_MERGE), patch(n, "status", before, n.getStatus()));
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) throw e;
            }
        }
        throw new IllegalStateException("VmmNode " + node + ": 20 conflicts in a row");
    }

    public FakeAgent startHeartbeats() {
        heartbeats = beat.scheduleAtFixedRate(this::heartbeatQuietly, 300, 300, TimeUnit.MILLISECONDS);
        return this;
    }

    private ScheduledFuture<?> leaseRenewals;

    /** Renews the node's Lease every 300 ms (renewTime by this node's clock), as the agent does with each heartbeat. */
    public FakeAgent startLeaseRenewals() {
        leaseRenewals = beat.scheduleAtFixedRate(() -> {
            try {
                // MicroTime, as the API server (and fabric8's Lease model) writes it: six fractional digits.
                String now = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
                        .format(Instant.now().plus(skew).atZone(java.time.ZoneOffset.UTC));
                var leases = client.resources(Lease.class).inNamespace(client.getNamespace());
                if (leases.withName("apiary-node-" + node).get() == null) {
                    Lease l = new Lease();
                    l.setMetadata(new ObjectMetaBuilder().withName("apiary-node-" + node)
                            .addToLabels(Labels.NODE_LEASE, node).build());
                    l.setSpec(new LeaseSpecBuilder().withHolderIdentity(node).withLeaseDurationSeconds(40).build());
                    leases.resource(l).create();
                }
                leases.withName("apiary-node-" + node).patch(PatchContext.of(PatchType.JSON_MERGE),
                        "{\"spec\":{\"renewTime\":\"" + now + "\"}}");
            } catch (RuntimeException ignored) {
                // next renewal
            }
        }, 0, 300, TimeUnit.MILLISECONDS);
        return this;
    }

    public void stopLeaseRenewals() {
        if (leaseRenewals != null) leaseRenewals.cancel(false);
    }

    public void stopHeartbeats() {
        if (heartbeats != null) heartbeats.cancel(false);
    }

    /** Acts on VMs bound here every 50 ms. */
    public FakeAgent startRunning() {
        runner = timer.scheduleWithFixedDelay(() -> {
            try {
                step();
            } catch (RuntimeException e) {
                // the next step retries, as a real agent would
            }
        }, 50, 50, TimeUnit.MILLISECONDS);
        return this;
    }

    public void stopRunning() {
        if (runner != null) runner.cancel(false);
    }

    private void heartbeatQuietly() {
        try {
            heartbeat();
        } catch (RuntimeException ignored) {
            // next beat
        }
    }

    private List<VirtualMachine> mine() {
        return client.resources(VirtualMachine.class).inAnyNamespace().list().getItems().stream()
                .filter(vm -> vm.getStatus() != null && node.equals(vm.getStatus().nodeName)).toList();
    }

    /** One pass of the agent's loop over the VMs bound to this node. */
    public void step() {
        for (VirtualMachine vm : mine()) {
            VirtualMachineStatus st = vm.getStatus();
            boolean holds = vm.getMetadata().getFinalizers() != null
                    && vm.getMetadata().getFinalizers().contains(Finalizers.AGENT);
                boolean stop = vm.getMetadata().getDeletionTimestamp() != null || st.desiredState == DesiredState.Stopped;
            if (stop) {
                long r = st.runId == null ? 0 : st.runId;
                if (r > 0 && (st.exit == null || st.exit.runId == null || st.exit.runId != r
                        || !(st.phase == VmPhase.Stopped || st.phase == VmPhase.Succeeded || st.phase == VmPhase.Failed))) {
                    status(vm, s -> {
                        s.phase = VmPhase.Stopped;
                        s.exit = exit(s.runId, "Stopped", "stopped on request");
                        s.vmm = null;
                        ready(s, "False", "Stopped");
                        return s;
                    });
                }
                if (holds) fin(vm.getMetadata().getNamespace(), vm.getMetadata().getName(), false);
            } else if (st.desiredState == DesiredState.Running && st.runId != null
                    && (st.vmm == null || st.vmm.runId == null || st.vmm.runId < st.runId)
                    && !(st.exit != null && st.runId.equals(st.exit.runId))) {
                if (!holds) fin(vm.getMetadata().getNamespace(), vm.getMetadata().getName(), true);
                long run = st.runId;
                VirtualMachineSpec.Accelerator wanted = st.runSpec == null || st.runSpec.accelerator == null
                        ? VirtualMachineSpec.Accelerator.Auto : st.runSpec.accelerator;
                if (wanted == VirtualMachineSpec.Accelerator.KVM && !kvm) {
                    // As the VMM does (docs/vmm-process.md): exit 2, BadInput; the agent reports BootFailed.
                    String why = "spec.accelerator: KVM is not usable on this host: /dev/kvm does not exist";
                    status(vm, s -> {
                        s.phase = VmPhase.Failed;
                        s.exit = exit(run, "BootFailed", why);
                        s.exit.exitCode = 2;
                        s.vmm = null;
                        s.accelerator = null;
                        ready(s, "False", "BootFailed");
                        return s;
                    });
                    fin(vm.getMetadata().getNamespace(), vm.getMetadata().getName(), false);
                    continue;
                }
                Accelerator got = kvm && wanted != VirtualMachineSpec.Accelerator.Emulated ? Accelerator.KVM
                        : Accelerator.Emulated;
                status(vm, s -> {
                    s.accelerator = got;
                    s.phase = VmPhase.Running;
                    s.vmm = new VirtualMachineStatus.VmmProcess();
                    s.vmm.pid = ++pid;
                    s.vmm.runId = run;
                    s.vmm.startedAt = Instant.now().toString();
                    s.agent = new VirtualMachineStatus.Agent();
                    s.agent.endpoint = "https://" + node + ":9443";
                    ready(s, "True", "GuestRunning");
                    return s;
                });
            } else if (st.phase == VmPhase.Unknown && st.vmm != null && st.vmm.runId != null
                    && st.vmm.runId.equals(st.runId)) {
                // Contract: an agent that sees phase Unknown on a VM it runs re-asserts the truth.
                status(vm, s -> {
                    s.phase = VmPhase.Running;
                    ready(s, "True", "GuestRunning");
                    return s;
                });
            }
        }
    }

    /** The current run of a VM on this node ends (guest power-off: Succeeded; crash: Failed). */
    public void end(String name, VmPhase phase, String reason) {
        VirtualMachine vm = client.resources(VirtualMachine.class).inNamespace("default").withName(name).get();
        status(vm, s -> {
            s.phase = phase;
            s.exit = exit(s.runId, reason, reason);
            s.vmm = null;
            ready(s, "False", reason);
            return s;
        });
        fin("default", name, false);
    }

    private static VirtualMachineStatus.Exit exit(Long runId, String reason, String message) {
        VirtualMachineStatus.Exit e = new VirtualMachineStatus.Exit();
        e.runId = runId;
        e.reason = reason;
        e.message = message;
        e.finishedAt = Instant.now().toString();
        return e;
    }

    private static void ready(VirtualMachineStatus s, String status, String reason) {
        s.conditions.removeIf(c -> "Ready".equals(c.getType()));
        s.conditions.add(new ConditionBuilder().withType("Ready").withStatus(status).withReason(reason)
                .withMessage(reason).withLastTransitionTime(Instant.now().toString()).build());
    }

    private void status(VirtualMachine vm, UnaryOperator<VirtualMachineStatus> edit) {
        for (int i = 0; i < 10; i++) {
            try {
                VirtualMachine fresh = i == 0 ? vm : client.resources(VirtualMachine.class)
                        .inNamespace(vm.getMetadata().getNamespace()).withName(vm.getMetadata().getName()).get();
                VirtualMachine copy = JSON.convertValue(fresh, VirtualMachine.class);
                JsonNode before = JSON.valueToTree(copy.getStatus());
                copy.setStatus(edit.apply(copy.getStatus()));
                client.resources(VirtualMachine.class).inNamespace(vm.getMetadata().getNamespace()).resource(copy)
                        .subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
                                patch(copy, "status", before, copy.getStatus()));
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) throw e;
            }
        }
    }

    private void fin(String ns, String name, boolean add) {
        for (int i = 0; i < 10; i++) {
            try {
                VirtualMachine vm = client.resources(VirtualMachine.class).inNamespace(ns).withName(name).get();
                if (vm == null) return;
                List<String> f = new ArrayList<>(vm.getMetadata().getFinalizers() == null ? List.of()
                        : vm.getMetadata().getFinalizers());
                if (add == f.contains(Finalizers.AGENT)) return;
                if (add) f.add(Finalizers.AGENT);
                else f.remove(Finalizers.AGENT);
                JsonNode before = JSON.valueToTree(vm.getMetadata());
                vm.getMetadata().setFinalizers(f);
                client.resources(VirtualMachine.class).inNamespace(ns).resource(vm).patch(
                        PatchContext.of(PatchType.JSON_MERGE), patch(vm, "metadata", before, vm.getMetadata()));
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) throw e;
            }
        }
    }

    /** As the agent writes: a merge patch of what changed in {@code part}, on the version read. */
    private static String patch(io.fabric8.kubernetes.api.model.HasMetadata o, String part, JsonNode before, Object after) {
        ObjectNode patch = JSON.createObjectNode();
        ObjectNode diff = MergePatch.diff(before, JSON.valueToTree(after));
        ObjectNode meta = patch.putObject("metadata");
        if (part.equals("metadata")) meta.setAll(diff);
        else patch.set(part, diff);
        meta.put("resourceVersion", o.getMetadata().getResourceVersion());
        return patch.toString();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        beat.shutdownNow();
        client.close();
    }
}
