package dev.apiary.operator.lifecycle;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.ConditionTypes;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.Manifests;
import dev.apiary.crds.RunStrategy;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineSpec;
import dev.apiary.crds.VirtualMachineSpec.LifecycleAction;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VirtualMachineStatus.DesiredState;
import dev.apiary.crds.VmPhase;
import dev.apiary.operator.scheduling.Placement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The run-strategy, request, backoff, validation and node-loss rules, without any server. */
class VmPlannerTest {
    static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
    static final Function<VirtualMachineSpec, Placement> FITS = s -> new Placement.Bound("node-a");
    static final Function<VirtualMachineSpec, Placement> FULL = s -> new Placement.Unschedulable("Unschedulable", "0/1 nodes fit");
    final VmPlanner planner = new VmPlanner(Backoff.DEFAULT);

    static VirtualMachine vm(RunStrategy strategy) throws Exception {
        VirtualMachine vm = Manifests.parse("""
                metadata: {name: web, namespace: default, generation: 1, finalizers: ["apiary.dev/operator"]}
                spec:
                  cpus: 2
                  memory: 1Gi
                  boot: {kernel: {path: vmlinuz}}
                """);
        vm.getSpec().runStrategy = strategy;
        return vm;
    }

    /** Applies a plan's status as the API server would, so the next plan sees it. */
    static VirtualMachine apply(VirtualMachine vm, VmPlan p) {
        vm.setStatus(p.status());
        return vm;
    }

    /** The agent reports that the current run ended. */
    static void end(VirtualMachine vm, VmPhase phase, String reason) {
        VirtualMachineStatus st = vm.getStatus();
        st.phase = phase;
        st.exit = new VirtualMachineStatus.Exit();
        st.exit.runId = st.runId;
        st.exit.reason = reason;
    }

    static void running(VirtualMachine vm) {
        vm.getStatus().phase = VmPhase.Running;
    }

    VmPlan plan(VirtualMachine vm) {
        return planner.plan(vm, vm.getStatus() == null || vm.getStatus().nodeName == null ? NodeState.NONE
                : NodeState.READY, FITS, T0);
    }

    static List<String> reasons(VmPlan p) {
        return p.events().stream().map(VmPlan.Event::reason).toList();
    }

    @Test
    void alwaysBindsStartsAndRestartsAfterEveryEnd() throws Exception {
        VirtualMachine vm = vm(RunStrategy.Always);
        VmPlan p = plan(vm);
        assertEquals("node-a", p.boundTo());
        assertEquals(1L, p.status().runId);
        assertEquals(DesiredState.Running, p.status().desiredState);
        assertEquals(VmPhase.Scheduled, p.status().phase);
        assertEquals(List.of("Scheduled"), reasons(p), "binding and the first start are one event");
        assertEquals("bound to VmmNode node-a; starting run 1", p.events().get(0).message());
        assertEquals(1L, p.status().observedGeneration);
        apply(vm, p);
        running(vm);
        assertTrue(plan(vm).events().isEmpty(), "nothing to do while it runs");
        end(vm, VmPhase.Succeeded, "PowerOff");
        p = plan(vm);
        assertEquals(2L, p.status().runId, "Always starts again after a clean power-off, at once");
        assertEquals(1, p.status().restarts);
        assertNull(p.status().nextStartAt);
    }

    @Test
    void alwaysBacksOffAfterFailuresUpToFiveMinutes() throws Exception {
        VirtualMachine vm = apply(vm(RunStrategy.Always), plan(vm(RunStrategy.Always)));
        Instant now = T0;
        List<Duration> delays = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            running(vm);
            end(vm, VmPhase.Failed, "VmmCrashed");
            VmPlan p = planner.plan(vm, NodeState.READY, FITS, now);
            assertEquals(vm.getStatus().runId, p.status().runId, "no start before the backoff expires");
            assertTrue(ConditionsTest.isTrue(p.status(), ConditionTypes.FAILURE));
            Instant at = Instant.parse(p.status().nextStartAt);
            delays.add(Duration.between(now, at));
            apply(vm, p);
            assertEquals(p.status().runId, planner.plan(vm, NodeState.READY, FITS, at.minusMillis(1)).status().runId);
            now = at;
            p = planner.plan(vm, NodeState.READY, FITS, now);
            assertEquals(vm.getStatus().runId + 1, p.status().runId);
            apply(vm, p);
        }
        assertEquals(List.of(10L, 20L, 40L, 80L, 160L, 300L, 300L, 300L),
                delays.stream().map(Duration::toSeconds).toList());
    }

    @Test
    void rerunOnFailureRestartsOnlyAfterFailure() throws Exception {
        VirtualMachine vm = apply(vm(RunStrategy.RerunOnFailure), plan(vm(RunStrategy.RerunOnFailure)));
        running(vm);
        end(vm, VmPhase.Failed, "VmmCrashed");
        VmPlan p = planner.plan(vm, NodeState.READY, FITS, T0);
        assertEquals(1L, p.status().runId);
        assertEquals(1, p.status().failures);
        apply(vm, p);
        p = planner.plan(vm, NodeState.READY, FITS, T0.plusSeconds(10));
        assertEquals(2L, p.status().runId);
        apply(vm, p);
        running(vm);
        end(vm, VmPhase.Succeeded, "PowerOff");
        p = plan(vm);
        assertEquals(2L, p.status().runId, "a clean end stays ended");
        assertEquals(DesiredState.Stopped, p.status().desiredState);
        assertEquals(0, p.status().failures);
    }

    @Test
    void onceRunsOneTime() throws Exception {
        VirtualMachine vm = apply(vm(RunStrategy.Once), plan(vm(RunStrategy.Once)));
        running(vm);
        end(vm, VmPhase.Failed, "VmmCrashed");
        VmPlan p = plan(vm);
        assertEquals(1L, p.status().runId);
        assertEquals(DesiredState.Stopped, p.status().desiredState);
        assertNull(p.status().nodeName, "a finished VM gives its node back");
        vm.getSpec().lifecycleRequest = request(LifecycleAction.Start, "1");
        p = plan(apply(vm, p));
        assertEquals("Refused", p.status().lastRequest.result);
        assertTrue(p.status().lastRequest.message.contains("runStrategy Once"));
        assertEquals(List.of("RequestRefused"), reasons(p));
    }

    @Test
    void manualWaitsForRequests() throws Exception {
        VirtualMachine vm = vm(RunStrategy.Manual);
        VmPlan p = plan(vm);
        assertNull(p.boundTo());
        assertEquals(DesiredState.Stopped, p.status().desiredState);
        assertEquals(VmPhase.Stopped, p.status().phase);
        apply(vm, p);
        vm.getSpec().lifecycleRequest = request(LifecycleAction.Start, "a");
        p = plan(vm);
        assertEquals("node-a", p.boundTo());
        assertEquals(1L, p.status().runId);
        assertEquals("Accepted", p.status().lastRequest.result);
        apply(vm, p);
        running(vm);
        assertTrue(plan(vm).events().isEmpty(), "the same request id is not acted on twice");
        vm.getSpec().lifecycleRequest = request(LifecycleAction.Restart, "b");
        p = plan(vm);
        assertEquals(2L, p.status().runId);
        apply(vm, p);
        running(vm);
        vm.getSpec().lifecycleRequest = request(LifecycleAction.Stop, "c");
        p = plan(vm);
        assertEquals(DesiredState.Stopped, p.status().desiredState);
        assertEquals("node-a", p.status().nodeName, "kept until the agent reports the stop");
        apply(vm, p);
        end(vm, VmPhase.Stopped, "Stopped");
        p = plan(vm);
        assertNull(p.status().nodeName);
        assertTrue(p.unbound());
    }

    @Test
    void haltedRefusesStartAndAlwaysRefusesStop() throws Exception {
        VirtualMachine vm = vm(RunStrategy.Halted);
        vm.getSpec().lifecycleRequest = request(LifecycleAction.Start, "x");
        VmPlan p = plan(vm);
        assertEquals("Refused", p.status().lastRequest.result);
        assertTrue(p.status().lastRequest.message.contains("\"runStrategy\":\"Always\""), p.status().lastRequest.message);
        assertNull(p.status().runId);
        VirtualMachine always = apply(vm(RunStrategy.Always), plan(vm(RunStrategy.Always)));
        always.getSpec().lifecycleRequest = request(LifecycleAction.Stop, "y");
        p = plan(always);
        assertEquals("Refused", p.status().lastRequest.result);
        assertEquals(DesiredState.Running, p.status().desiredState);
    }

    @Test
    void switchingToHaltedStopsAndBackToAlwaysStarts() throws Exception {
        VirtualMachine vm = apply(vm(RunStrategy.Always), plan(vm(RunStrategy.Always)));
        running(vm);
        vm.getSpec().runStrategy = RunStrategy.Halted;
        VmPlan p = plan(vm);
        assertEquals(DesiredState.Stopped, p.status().desiredState);
        apply(vm, p);
        end(vm, VmPhase.Stopped, "Stopped");
        apply(vm, plan(vm));
        assertNull(vm.getStatus().nodeName);
        vm.getSpec().runStrategy = RunStrategy.Always;
        p = plan(vm);
        assertEquals(2L, p.status().runId);
        assertEquals("node-a", p.boundTo());
    }

    @Test
    void noFitLeavesItPendingWithTheReason() throws Exception {
        VmPlan p = planner.plan(vm(RunStrategy.Always), NodeState.NONE, FULL, T0);
        assertEquals(VmPhase.Pending, p.status().phase);
        assertTrue(p.unschedulable());
        var c = Conditions.find(p.status().conditions, ConditionTypes.SCHEDULED).orElseThrow();
        assertEquals("False", c.getStatus());
        assertEquals("Unschedulable", c.getReason());
        assertEquals("0/1 nodes fit", c.getMessage());
        assertEquals(List.of("FailedScheduling"), reasons(p));
        VirtualMachine again = vm(RunStrategy.Always);
        again.setStatus(p.status());
        assertTrue(planner.plan(again, NodeState.NONE, FULL, T0.plusSeconds(5)).events().isEmpty(),
                "the same refusal is not announced twice");
    }

    @Test
    void invalidSpecIsNamedAndNotScheduled() throws Exception {
        VirtualMachine vm = vm(RunStrategy.Always);
        vm.getSpec().disks.add(new VirtualMachineSpec.Disk());
        vm.getSpec().disks.get(0).name = "root";
        vm.getSpec().disks.get(0).image = new VirtualMachineSpec.ImageSource();
        vm.getSpec().disks.get(0).image.path = "/etc/shadow";
        VmPlan p = plan(vm);
        var c = Conditions.find(p.status().conditions, ConditionTypes.VALID).orElseThrow();
        assertEquals("False", c.getStatus());
        assertTrue(c.getMessage().startsWith("spec.disks[0].image.path: "), c.getMessage());
        assertNull(p.boundTo());
        assertNull(p.status().runId);
        assertEquals(VmPhase.Pending, p.status().phase);
        assertEquals(List.of("InvalidSpec"), reasons(p));
    }

    @Test
    void hardwareChangeWhileRunningNeedsARestart() throws Exception {
        VirtualMachine vm = apply(vm(RunStrategy.Always), plan(vm(RunStrategy.Always)));
        running(vm);
        vm.getSpec().cpus = 4;
        vm.getSpec().nodeSelector.put("zone", "a");
        vm.getMetadata().setGeneration(2L);
        VmPlan p = plan(vm);
        var c = Conditions.find(p.status().conditions, ConditionTypes.RESTART_REQUIRED).orElseThrow();
        assertEquals("True", c.getStatus());
        assertTrue(c.getMessage().startsWith("spec.cpus changed since run 1"), c.getMessage());
        assertEquals(2L, p.status().observedGeneration);
        assertEquals(1L, p.status().runId, "not restarted behind the user's back");
        apply(vm, p);
        vm.getSpec().lifecycleRequest = request(LifecycleAction.Restart, "r");
        p = plan(vm);
        assertEquals(2L, p.status().runId);
        assertEquals(4, p.status().runSpec.cpus);
        assertEquals("False", Conditions.find(p.status().conditions, ConditionTypes.RESTART_REQUIRED).orElseThrow()
                .getStatus());
    }

    @Test
    void lostNodeMakesItUnknownAndKeepsItThere() throws Exception {
        VirtualMachine vm = apply(vm(RunStrategy.Always), plan(vm(RunStrategy.Always)));
        running(vm);
        VmPlan p = planner.plan(vm, new NodeState(NodeState.Presence.NOT_READY, "node node-a NotReady: no heartbeat"),
                FITS, T0);
        assertEquals(VmPhase.Unknown, p.status().phase);
        assertEquals("node-a", p.status().nodeName);
        assertEquals(1L, p.status().runId);
        assertEquals("Unknown", Conditions.find(p.status().conditions, ConditionTypes.READY).orElseThrow().getStatus());
        assertEquals("False", Conditions.find(p.status().conditions, ConditionTypes.NODE_REACHABLE).orElseThrow()
                .getStatus());
        apply(vm, p);
        vm.getMetadata().getFinalizers().add(Finalizers.AGENT);
        p = planner.plan(vm, new NodeState(NodeState.Presence.GONE, "gone"), s -> new Placement.Bound("node-b"), T0);
        assertTrue(p.removeAgentFinalizer(), "the dead node's agent cannot release it");
        assertEquals("node-b", p.boundTo(), "Always starts it elsewhere once the old node is known gone");
        assertEquals(2L, p.status().runId);
        assertEquals("NodeDeleted", p.status().exit.reason);
    }

    @Test
    void deletionWaitsForTheAgent() throws Exception {
        VirtualMachine vm = apply(vm(RunStrategy.Always), plan(vm(RunStrategy.Always)));
        vm.getMetadata().getFinalizers().add(Finalizers.AGENT);
        vm.getMetadata().setDeletionTimestamp(T0.toString());
        VmPlan p = plan(vm);
        assertEquals(DesiredState.Stopped, p.status().desiredState);
        assertFalse(p.removeOperatorFinalizer());
        vm.getMetadata().getFinalizers().remove(Finalizers.AGENT);
        assertTrue(plan(apply(vm, p)).removeOperatorFinalizer());
    }

    static VirtualMachineSpec.LifecycleRequest request(LifecycleAction a, String id) {
        var r = new VirtualMachineSpec.LifecycleRequest();
        r.action = a;
        r.id = id;
        return r;
    }
}
