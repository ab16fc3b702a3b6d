package dev.apiary.operator.it;

import static dev.apiary.operator.it.MockCluster.*;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.Labels;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineStatus.DesiredState;
import dev.apiary.crds.VmPhase;
import dev.apiary.operator.runtime.OperatorRuntime;
import dev.apiary.operator.vm.VmApi;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Run strategies, start/stop/restart through the exact merge patches docs/user-guide.md gives, deletion with
 * finalizers, node loss, conflicts and invalid specs, against the mock API server with a fake agent.
 */
class LifecycleIT {
    final MockCluster k = new MockCluster();

    @AfterEach
    void close() {
        k.close();
    }

    /** kubectl patch vm NAME --type merge -p JSON */
    VirtualMachine patch(String name, String json) {
        return k.client.resources(VirtualMachine.class).inNamespace("default").withName(name)
                .patch(PatchContext.of(PatchType.JSON_MERGE), json);
    }

    VirtualMachine request(String name, String action, String id) {
        return patch(name, "{\"spec\":{\"lifecycleRequest\":{\"action\":\"" + action + "\",\"id\":\"" + id + "\"}}}");
    }

    static boolean running(VirtualMachine vm, long run) {
        return vm != null && vm.getStatus() != null && vm.getStatus().phase == VmPhase.Running
                && vm.getStatus().vmm != null && Objects.equals(vm.getStatus().vmm.runId, run);
    }

    @Test
    void alwaysRestartsWithGrowingBackoffAfterCrashes() {
        FakeAgent a = k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("web", "Always", 2, "1Gi"));
        await("run 1", () -> k.vm("web"), vm -> running(vm, 1));
        a.end("web", VmPhase.Succeeded, "PowerOff");
        await("run 2 right after a clean power-off", () -> k.vm("web"), vm -> running(vm, 2));
        Instant crash = Instant.now();
        a.end("web", VmPhase.Failed, "VmmCrashed");
        VirtualMachine backingOff = await("failure noted", () -> k.vm("web"),
                vm -> vm.getStatus().nextStartAt != null);
        assertEquals("True", condition(backingOff, "Failure").orElseThrow().getStatus());
        assertEquals("VmmCrashed", condition(backingOff, "Failure").orElseThrow().getReason());
        await("run 3 after the backoff", () -> k.vm("web"), vm -> running(vm, 3));
        assertTrue(Duration.between(crash, Instant.now()).toMillis() >= 250, "waited for the 300 ms backoff");
        a.end("web", VmPhase.Failed, "VmmCrashed");
        VirtualMachine second = await("second failure", () -> k.vm("web"), vm -> vm.getStatus().nextStartAt != null);
        assertEquals(2, second.getStatus().failures);
        await("run 4", () -> k.vm("web"), vm -> running(vm, 4));
        VirtualMachine after = await("failure cleared", () -> k.vm("web"),
                vm -> "False".equals(condition(vm, "Failure").map(c -> c.getStatus()).orElse("")));
        assertEquals(3, after.getStatus().restarts);
        await("event BackOff on web", () -> k.eventReasons("web"), r -> r.contains("BackOff"));
        await("event Restarting on web", () -> k.eventReasons("web"), r -> r.contains("Restarting"));
    }

    @Test
    void rerunOnFailureAndOnce() {
        FakeAgent a = k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("rr", "RerunOnFailure", 1, "1Gi"));
        k.create(vmYaml("once", "Once", 1, "1Gi"));
        await("rr run 1", () -> k.vm("rr"), vm -> running(vm, 1));
        await("once run 1", () -> k.vm("once"), vm -> running(vm, 1));
        a.end("rr", VmPhase.Failed, "VmmCrashed");
        a.end("once", VmPhase.Failed, "VmmCrashed");
        await("rr run 2", () -> k.vm("rr"), vm -> running(vm, 2));
        a.end("rr", VmPhase.Succeeded, "PowerOff");
        VirtualMachine rr = await("rr stays down after success", () -> k.vm("rr"),
                vm -> vm.getStatus().desiredState == DesiredState.Stopped && vm.getStatus().nodeName == null);
        assertEquals(2L, rr.getStatus().runId);
        assertEquals(VmPhase.Succeeded, rr.getStatus().phase);
        VirtualMachine once = await("once stays down after failure", () -> k.vm("once"),
                vm -> vm.getStatus().nodeName == null);
        assertEquals(1L, once.getStatus().runId);
        assertEquals(VmPhase.Failed, once.getStatus().phase);
        await("node empty", () -> k.node("node-a").getStatus().allocated, al -> al != null && al.vms == 0);
    }

    @Test
    void manualStartStopRestartWithPatches() {
        k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("m", "Manual", 1, "1Gi"));
        VirtualMachine vm = await("stopped, unscheduled", () -> k.vm("m"),
                v -> v.getStatus() != null && v.getStatus().phase == VmPhase.Stopped);
        assertNull(vm.getStatus().nodeName);
        request("m", "Start", "1");
        await("started", () -> k.vm("m"), v -> running(v, 1));
        request("m", "Restart", "2");
        await("restarted", () -> k.vm("m"), v -> running(v, 2));
        request("m", "Stop", "3");
        vm = await("stopped and released", () -> k.vm("m"),
                v -> v.getStatus().phase == VmPhase.Stopped && v.getStatus().nodeName == null);
        assertEquals("Accepted", vm.getStatus().lastRequest.result);
        assertFalse(vm.getMetadata().getFinalizers().contains(Finalizers.AGENT));
        request("m", "Start", "4");
        await("started again", () -> k.vm("m"), v -> running(v, 3));
    }

    @Test
    void refusedRequestsAndStrategySwitches() {
        k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("h", "Halted", 1, "1Gi"));
        request("h", "Start", "a");
        VirtualMachine h = await("refused", () -> k.vm("h"),
                v -> v.getStatus() != null && v.getStatus().lastRequest != null);
        assertEquals("Refused", h.getStatus().lastRequest.result);
        assertTrue(h.getStatus().lastRequest.message.contains("runStrategy"), h.getStatus().lastRequest.message);
        assertNull(h.getStatus().nodeName);
        assertTrue(await("event", () -> k.eventReasons("h"), r -> r.contains("RequestRefused")).size() > 0);
        assertNull(nodeLabel(h), "a VM without a node has no node label");
        patch("h", "{\"spec\":{\"runStrategy\":\"Always\"}}");
        await("running after runStrategy Always", () -> k.vm("h"), v -> running(v, 1));
        await("labelled with its node", () -> nodeLabel(k.vm("h")), "node-a"::equals);
        patch("h", "{\"spec\":{\"runStrategy\":\"Halted\"}}");
        await("stopped after runStrategy Halted", () -> k.vm("h"),
                v -> v.getStatus().phase == VmPhase.Stopped && v.getStatus().nodeName == null);
        await("node label removed with the binding", () -> k.vm("h"), v -> nodeLabel(v) == null);
    }

    /** The label the operator keeps equal to status.nodeName (agents watch by it). */
    static String nodeLabel(VirtualMachine vm) {
        return vm.getMetadata().getLabels() == null ? null : vm.getMetadata().getLabels().get(Labels.NODE);
    }

    @Test
    void concurrentRequestWithStaleResourceVersionIsRefusedByTheServer() {
        k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        VirtualMachine created = k.create(vmYaml("c", "Manual", 1, "1Gi"));
        // Settled: the operator writes status, then its finalizer.
        String rv = await("settled", () -> k.vm("c"), v -> v.getStatus() != null && v.getStatus().phase == VmPhase.Stopped
                && v.getMetadata().getFinalizers().contains(Finalizers.OPERATOR)).getMetadata().getResourceVersion();
        // Two users read the same version; the first request wins, the second is refused, not silently lost.
        patch("c", "{\"metadata\":{\"resourceVersion\":\"" + rv + "\"},\"spec\":{\"lifecycleRequest\":"
                + "{\"action\":\"Start\",\"id\":\"u1\"}}}");
        KubernetesClientException e = assertThrows(KubernetesClientException.class, () -> patch("c",
                "{\"metadata\":{\"resourceVersion\":\"" + rv + "\"},\"spec\":{\"lifecycleRequest\":"
                        + "{\"action\":\"Stop\",\"id\":\"u2\"}}}"));
        assertEquals(409, e.getCode());
        await("u1 acted on", () -> k.vm("c"), v -> running(v, 1));
        assertNotNull(created);
    }

    @Test
    void statusConflictsAreRetriedOnAFreshRead() {
        k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        AtomicInteger conflicts = new AtomicInteger();
        k.startOperator(settings(), c -> {
            VmApi real = VmApi.of(c);
            return new VmApi() {
                public VirtualMachine get(String ns, String n) {
                    return real.get(ns, n);
                }

                public VirtualMachine patch(VirtualMachine vm, ObjectNode p) {
                    return real.patch(vm, p);
                }

                public VirtualMachine patchStatus(VirtualMachine vm, ObjectNode p) {
                    // Every other status write is refused, as a real server does when another writer came first.
                    if (conflicts.getAndIncrement() % 2 == 0) {
                        throw new KubernetesClientException("conflict", 409, null);
                    }
                    return real.patchStatus(vm, p);
                }
            };
        });
        k.create(vmYaml("x", "Always", 1, "1Gi"));
        VirtualMachine vm = await("running despite conflicts", () -> k.vm("x"), v -> running(v, 1));
        assertTrue(conflicts.get() >= 2);
        assertEquals(1L, vm.getStatus().runId, "a retried decision is not applied twice");
        await("Scheduled event", () -> k.eventReasons("x"), r -> r.contains("Scheduled"));
        assertEquals(1L, k.eventReasons("x").stream().filter("Scheduled"::equals).count());
    }

    /**
     * A newer operator or agent (a rolling upgrade) writes fields this model does not know, in spec and in status;
     * this operator's writes (status, finalizer, label) and the agent's must leave them as they are.
     */
    @Test
    void fieldsTheModelDoesNotKnowSurviveEveryWrite() {
        k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        var raw = k.client.genericKubernetesResources("apiary.dev/v1alpha1", "VirtualMachine").inNamespace("default");
        raw.load(new java.io.ByteArrayInputStream(vmYaml("u", "Manual", 1, "1Gi")
                .replace("  cpus: 1", "  cpus: 1\n  futureKnob: {level: 3}").getBytes())).create();
        await("settled", () -> k.vm("u"), v -> v.getStatus() != null && v.getStatus().phase == VmPhase.Stopped
                && v.getMetadata().getFinalizers().contains(Finalizers.OPERATOR));
        raw.withName("u").subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"status\":{\"futureStatus\":{\"migration\":\"none\"}}}");
        assertEquals(Map.of("migration", "none"), raw.withName("u").get().get("status", "futureStatus"));

        request("u", "Start", "go"); // the operator binds (status, label), the agent adds its finalizer and reports
        await("running", () -> k.vm("u"), v -> running(v, 1));
        await("labelled", () -> nodeLabel(k.vm("u")), "node-a"::equals);
        var after = raw.withName("u").get();
        assertEquals(Map.of("level", 3), after.get("spec", "futureKnob"), "spec field kept");
        assertEquals(Map.of("migration", "none"), after.get("status", "futureStatus"), "status field kept");
        assertTrue(after.getMetadata().getFinalizers().contains(Finalizers.AGENT));
    }

    @Test
    void invalidSpecGetsAConditionNamingTheField() {
        k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("bad", "Always", 1, "1Gi").replace("disks/bad.img", "../../etc/shadow"));
        VirtualMachine vm = await("invalid", () -> k.vm("bad"), v -> condition(v, "Valid").isPresent());
        var c = condition(vm, "Valid").orElseThrow();
        assertEquals("False", c.getStatus());
        assertEquals("InvalidSpec", c.getReason());
        assertTrue(c.getMessage().startsWith("spec.disks[0].image.path:"), c.getMessage());
        assertNull(vm.getStatus().nodeName);
        assertEquals(VmPhase.Pending, vm.getStatus().phase);
        // JSON patch: the mock merges lists in a merge patch where a real server replaces them (RFC 7386).
        k.client.resources(VirtualMachine.class).inNamespace("default").withName("bad").patch(
                PatchContext.of(PatchType.JSON),
                "[{\"op\":\"replace\",\"path\":\"/spec/disks/0/image/path\",\"value\":\"disks/ok.img\"}]");
        await("fixed and running", () -> k.vm("bad"), v -> running(v, 1));
    }

    @Test
    void restartRequiredWhenHardwareChanges() {
        k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("r", "Always", 1, "1Gi"));
        await("running", () -> k.vm("r"), v -> running(v, 1));
        patch("r", "{\"spec\":{\"cpus\":2}}");
        VirtualMachine vm = await("flagged", () -> k.vm("r"),
                v -> "True".equals(condition(v, "RestartRequired").map(c -> c.getStatus()).orElse("")));
        assertEquals(2L, vm.getStatus().observedGeneration);
        assertEquals(1, vm.getStatus().runSpec.cpus);
        request("r", "Restart", "go");
        vm = await("restarted with 2 CPUs", () -> k.vm("r"), v -> running(v, 2));
        assertEquals(2, vm.getStatus().runSpec.cpus);
    }

    @Test
    void deletionWaitsForTheAgentToRelease() {
        FakeAgent a = k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("d", "Always", 1, "1Gi"));
        VirtualMachine vm = await("running", () -> k.vm("d"), v -> running(v, 1));
        assertTrue(vm.getMetadata().getFinalizers().containsAll(java.util.List.of(Finalizers.OPERATOR, Finalizers.AGENT)));
        a.stopRunning();
        k.client.resources(VirtualMachine.class).inNamespace("default").withName("d").delete();
        vm = await("asked to stop", () -> k.vm("d"), v -> v.getStatus().desiredState == DesiredState.Stopped);
        assertNotNull(vm.getMetadata().getDeletionTimestamp());
        sleep(300);
        assertNotNull(k.vm("d"), "held while the agent has not released it");
        a.startRunning();
        await("gone", () -> k.vm("d"), Objects::isNull);
        await("event Released on d", () -> k.eventReasons("d"), r -> r.contains("Released"));
    }

    @Test
    void nodeLossMakesVmsUnknownAndDeletingTheNodeRecoversThem() {
        FakeAgent a = k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("n", "Always", 1, "1Gi"));
        k.create(vmYaml("gone", "Always", 1, "1Gi"));
        await("running", () -> k.vm("n"), v -> running(v, 1));
        await("running", () -> k.vm("gone"), v -> running(v, 1));
        FakeAgent b = k.agent("node-b", 8, "16Gi", Map.of()).startHeartbeats().startRunning();
        a.stopHeartbeats();
        a.stopRunning();
        VirtualMachine vm = await("unknown", () -> k.vm("n"), v -> v.getStatus().phase == VmPhase.Unknown,
                Duration.ofSeconds(10));
        assertEquals("node-a", vm.getStatus().nodeName, "not started elsewhere while node-a may still run it");
        assertEquals("Unknown", condition(vm, "Ready").orElseThrow().getStatus());
        assertEquals("NodeNotReady", condition(vm, "NodeReachable").orElseThrow().getReason());
        assertEquals("Unknown", k.node("node-a").getStatus().conditions.stream()
                .filter(c -> c.getType().equals("Ready")).findFirst().orElseThrow().getStatus());
        await("event NodeNotReady on n", () -> k.eventReasons("n"), r -> r.contains("NodeNotReady"));
        sleep(500);
        assertEquals("node-a", k.vm("n").getStatus().nodeName);

        k.client.resources(VirtualMachine.class).inNamespace("default").withName("gone").delete();
        sleep(300);
        assertNotNull(k.vm("gone"), "deletion waits for the lost node's agent");
        // Recovery: the node is confirmed dead, so its VmmNode is deleted.
        k.client.resources(dev.apiary.crds.VmmNode.class).withName("node-a").delete();
        vm = await("restarted on node-b", () -> k.vm("n"), v -> "node-b".equals(v.getStatus().nodeName) && running(v, 2));
        assertEquals("NodeDeleted", vm.getStatus().exit.reason);
        await("label follows the new binding", () -> nodeLabel(k.vm("n")), "node-b"::equals);
        assertFalse(vm.getMetadata().getFinalizers().contains(Finalizers.AGENT) && vm.getStatus().vmm == null);
        await("deleted VM released", () -> k.vm("gone"), Objects::isNull);
        assertNotNull(b);
    }

    @Test
    void operatorRestartMidFlightNeitherLosesNorRepeatsWork() {
        k.agent("node-a", 8, "64Gi", Map.of()).startHeartbeats().startRunning();
        k.agent("node-b", 8, "64Gi", Map.of()).startHeartbeats().startRunning();
        OperatorRuntime first = k.startOperator();
        for (int i = 0; i < 10; i++) k.create(vmYaml("vm" + i, "Always", 1, "1Gi"));
        await("some bound", () -> k.client.resources(VirtualMachine.class).inNamespace("default").list().getItems()
                .stream().filter(v -> v.getStatus() != null && v.getStatus().nodeName != null).count(), n -> n >= 3);
        first.stop();
        for (int i = 10; i < 16; i++) k.create(vmYaml("vm" + i, "Always", 1, "1Gi"));
        k.startOperator();
        for (int i = 0; i < 16; i++) {
            String name = "vm" + i;
            await(name + " running", () -> k.vm(name), v -> running(v, 1));
        }
        var vms = k.client.resources(VirtualMachine.class).inNamespace("default").list().getItems();
        assertEquals(8, vms.stream().filter(v -> "node-a".equals(v.getStatus().nodeName)).count(), "spread evenly");
        for (VirtualMachine v : vms) {
            assertEquals(1L, v.getStatus().runId, v.getMetadata().getName() + " started once");
            // At most once: an event queued by the stopped operator may be lost with it, as with a crashed pod.
            assertTrue(k.eventReasons(v.getMetadata().getName()).stream().filter("Scheduled"::equals).count() <= 1);
        }
    }

    @Test
    void onlyTheLeaderActs() {
        k.agent("node-a", 8, "16Gi", Map.of()).startHeartbeats();
        var s = settings();
        OperatorRuntime one = k.startOperator(s.withLeaderElection("default", "one", Duration.ofSeconds(2),
                Duration.ofMillis(1500), Duration.ofMillis(200)), VmApi::of);
        await("one leads", one::leading, l -> l);
        OperatorRuntime two = k.startOperator(s.withLeaderElection("default", "two", Duration.ofSeconds(2),
                Duration.ofMillis(1500), Duration.ofMillis(200)), VmApi::of);
        sleep(800);
        assertFalse(two.leading());
        k.create(vmYaml("l", "Always", 1, "1Gi"));
        await("bound by the leader", () -> k.vm("l"), v -> v.getStatus() != null && v.getStatus().nodeName != null);
        one.stop();
        await("two takes over", two::leading, l -> l, Duration.ofSeconds(10));
        k.create(vmYaml("l2", "Always", 1, "1Gi"));
        await("bound by the new leader", () -> k.vm("l2"), v -> v.getStatus() != null && v.getStatus().nodeName != null);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
