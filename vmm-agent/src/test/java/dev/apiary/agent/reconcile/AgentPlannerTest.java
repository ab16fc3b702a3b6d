package dev.apiary.agent.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.agent.runtime.LocalRun;
import dev.apiary.agent.runtime.ReapedExit;
import dev.apiary.agent.runtime.RunDir;
import dev.apiary.agent.runtime.RunIdentity;
import dev.apiary.agent.runtime.StopRequest;
import dev.apiary.agent.runtime.VmmExit;
import dev.apiary.agent.runtime.VmmState;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VirtualMachineStatus.DesiredState;
import dev.apiary.crds.VmPhase;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentPlannerTest {
    static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
    static final String EP = "https://node-a:9443";
    final AgentPlanner planner = new AgentPlanner("node-a", Duration.ofSeconds(30), Duration.ofSeconds(5));

    static VirtualMachine vm(String uid, String node, DesiredState desired, long runId) {
        VirtualMachine vm = new VirtualMachine();
        vm.setMetadata(new ObjectMetaBuilder().withName("vm-" + uid).withNamespace("default").withUid(uid)
                .withFinalizers(new ArrayList<>(List.of(Finalizers.OPERATOR))).build());
        vm.setStatus(new VirtualMachineStatus());
        vm.getStatus().nodeName = node;
        vm.getStatus().desiredState = desired;
        vm.getStatus().runId = runId == 0 ? null : runId;
        vm.getStatus().phase = VmPhase.Scheduled;
        return vm;
    }

    static LocalRun run(String uid, long runId, boolean alive, String phase, VmmExit exit, ReapedExit reaped,
            StopRequest stop) {
        RunIdentity id = new RunIdentity("default", "vm-" + uid, uid, runId, 100L, "2026-01-01T00:00:00Z");
        VmmState st = phase == null ? null : new VmmState(phase, 100L, "2026-01-01T00:00:01Z", 40L, 1, 1, 1L << 26,
                List.of("lpc-uart-com1"), false, "Emulated");
        return new LocalRun(new RunDir(Path.of("/run/apiary", uid)), id, 100L, alive, st, exit, reaped, stop, "vmm: boom");
    }

    List<Action> plan(List<VirtualMachine> vms, List<LocalRun> runs) {
        return planner.plan(vms, true, runs, EP, NOW);
    }

    @Test
    void launchesTheCurrentRunOfAVmBoundHere() {
        List<Action> a = plan(List.of(vm("a", "node-a", DesiredState.Running, 1)), List.of());
        assertEquals(1, a.size());
        assertEquals(1, assertInstanceOf(Action.Launch.class, a.get(0)).runId());
    }

    @Test
    void leavesVmsOfOtherNodesAndUnstartedRunsAlone() {
        assertEquals(List.of(), plan(List.of(vm("a", "node-b", DesiredState.Running, 1),
                vm("b", null, DesiredState.Running, 1), vm("c", "node-a", DesiredState.Running, 0)), List.of()));
    }

    @Test
    void doesNotLaunchARunThatAlreadyEndedOrIsServed() {
        VirtualMachine ended = vm("a", "node-a", DesiredState.Running, 1);
        ended.getStatus().exit = new VirtualMachineStatus.Exit();
        ended.getStatus().exit.runId = 1L;
        ended.getStatus().phase = VmPhase.Failed;
        assertTrue(plan(List.of(ended), List.of()).isEmpty());
        VirtualMachine running = vm("b", "node-a", DesiredState.Running, 1);
        List<Action> a = plan(List.of(running), List.of(run("b", 1, true, "Running", null, null, null)));
        assertTrue(a.stream().noneMatch(x -> x instanceof Action.Launch), a.toString());
    }

    @Test
    void reportsRunningFromTheVmmState() {
        List<Action> a = plan(List.of(vm("a", "node-a", DesiredState.Running, 1)),
                List.of(run("a", 1, true, "Running", null, null, null)));
        AgentStatus s = assertInstanceOf(Action.Report.class, a.get(0)).status();
        assertEquals(VmPhase.Running, s.phase());
        assertEquals(100L, s.vmm().pid);
        assertEquals(40L, s.vmm().bootMillis);
        assertEquals(1L, s.vmm().runId);
        assertEquals("True", s.readyStatus());
        assertEquals(EP, s.endpoint());
    }

    @Test
    void nothingToDoWhenTheStatusAlreadySaysIt() {
        VirtualMachine vm = vm("a", "node-a", DesiredState.Running, 1);
        LocalRun r = run("a", 1, true, "Running", null, null, null);
        vm.setStatus(RunReport.of(r, EP).applyTo(vm.getStatus(), NOW.toString()));
        vm.getMetadata().getFinalizers().add(Finalizers.AGENT);
        assertEquals(List.of(), plan(List.of(vm), List.of(r)));
    }

    @Test
    void stopsWithThePowerButtonThenHardStopThenKill() {
        VirtualMachine vm = vm("a", "node-a", DesiredState.Stopped, 1);
        vm.getMetadata().setAnnotations(Map.of(AgentPlanner.STOP_GRACE_ANNOTATION, "10s"));
        List<Action> a = plan(List.of(vm), List.of(run("a", 1, true, "Running", null, null, null)));
        Action.PowerButton pb = assertInstanceOf(Action.PowerButton.class, a.get(0));
        assertEquals(10_000, pb.graceMillis());
        assertEquals(VmPhase.Stopping, assertInstanceOf(Action.Report.class, a.get(1)).status().phase());

        StopRequest pressed = new StopRequest(NOW.toEpochMilli() - 11_000, 10_000, "stopped on request");
        a = plan(List.of(vm), List.of(run("a", 1, true, "Running", null, null, pressed)));
        assertInstanceOf(Action.HardStop.class, a.get(0));
        StopRequest longAgo = new StopRequest(NOW.toEpochMilli() - 16_000, 10_000, "stopped on request");
        a = plan(List.of(vm), List.of(run("a", 1, true, "Running", null, null, longAgo)));
        assertInstanceOf(Action.Kill.class, a.get(0));
    }

    @Test
    void reportsTheEndOfARunAndReleasesTheFinalizer() {
        VirtualMachine vm = vm("a", "node-a", DesiredState.Running, 1);
        vm.getMetadata().getFinalizers().add(Finalizers.AGENT);
        VmmExit poweroff = new VmmExit(0, "PowerOff", "the guest powered off", "2026-01-01T00:00:02Z");
        List<Action> a = plan(List.of(vm), List.of(run("a", 1, false, "Running", poweroff, null, null)));
        AgentStatus s = assertInstanceOf(Action.Report.class, a.get(0)).status();
        assertEquals(VmPhase.Succeeded, s.phase());
        assertEquals("PowerOff", s.exit().reason);
        assertEquals(1L, s.exit().runId);
        assertInstanceOf(Action.ReleaseFinalizer.class, a.get(1));
    }

    @Test
    void replacesAnOlderRunOnlyOnceItHasStopped() {
        VirtualMachine vm = vm("a", "node-a", DesiredState.Running, 2);
        List<Action> a = plan(List.of(vm), List.of(run("a", 1, true, "Running", null, null, null)));
        assertTrue(a.stream().noneMatch(x -> x instanceof Action.Launch));
        assertTrue(a.get(0) instanceof Action.PowerButton p && p.reason().contains("run 2 replaces run 1"));
        a = plan(List.of(vm), List.of(run("a", 1, false, "Running", new VmmExit(0, "Stopped", null, null), null,
                new StopRequest(0, 0, "x"))));
        assertEquals(2, assertInstanceOf(Action.Launch.class, a.get(0)).runId());
    }

    @Test
    void orphansAreStoppedOrCleanedButOnlyWithASyncedCache() {
        LocalRun live = run("gone", 1, true, "Running", null, null, null);
        LocalRun dead = run("dead", 1, false, "Running", new VmmExit(0, "PowerOff", null, null), null, null);
        assertEquals(List.of(), planner.plan(List.of(), false, List.of(live, dead), EP, NOW));
        List<Action> a = plan(List.of(), List.of(live, dead));
        assertTrue(a.get(0) instanceof Action.PowerButton p && p.orphan());
        assertTrue(a.get(1) instanceof Action.Cleanup c && c.orphan());
        // Bound elsewhere now: stopped too.
        a = plan(List.of(vm("gone", "node-b", DesiredState.Running, 1)), List.of(live));
        assertTrue(a.get(0) instanceof Action.PowerButton p && p.orphan() && p.reason().contains("no longer bound"));
    }

    @Test
    void deletionStopsThenCleansUpThenReleases() {
        VirtualMachine vm = vm("a", "node-a", DesiredState.Stopped, 1);
        vm.getMetadata().setDeletionTimestamp("2026-01-01T00:00:00Z");
        vm.getMetadata().getFinalizers().add(Finalizers.AGENT);
        List<Action> a = plan(List.of(vm), List.of(run("a", 1, true, "Running", null, null, null)));
        assertTrue(a.get(0) instanceof Action.PowerButton p && p.reason().contains("deleted"));
        assertTrue(a.stream().noneMatch(x -> x instanceof Action.ReleaseFinalizer));
        a = plan(List.of(vm), List.of(run("a", 1, false, null, new VmmExit(0, "Stopped", null, null), null,
                new StopRequest(0, 0, "the VM is being deleted"))));
        List<Object> kinds = a.stream().map(x -> (Object) x.getClass()).toList();
        assertTrue(kinds.indexOf(Action.Cleanup.class) < kinds.indexOf(Action.ReleaseFinalizer.class), kinds.toString());
    }

    @Test
    void aStopAskedBeforeTheVmmStartedIsReportedAsStopped() {
        VirtualMachine vm = vm("a", "node-a", DesiredState.Stopped, 1);
        AgentStatus s = assertInstanceOf(Action.Report.class, plan(List.of(vm), List.of()).get(0)).status();
        assertEquals(VmPhase.Stopped, s.phase());
        assertEquals(1L, s.exit().runId);
    }

    @Test
    void aRunWhoseDirectoryVanishedIsReportedLost() {
        VirtualMachine vm = vm("a", "node-a", DesiredState.Running, 1);
        vm.getStatus().phase = VmPhase.Running;
        vm.getStatus().vmm = new VirtualMachineStatus.VmmProcess();
        vm.getStatus().vmm.runId = 1L;
        AgentStatus s = assertInstanceOf(Action.Report.class, plan(List.of(vm), List.of()).get(0)).status();
        assertEquals(VmPhase.Failed, s.phase());
        assertEquals("VmmLost", s.exit().reason);
    }

    @Test
    void graceAnnotationParses() {
        assertEquals(Duration.ofMillis(500), AgentPlanner.parseDuration("500ms"));
        assertEquals(Duration.ofSeconds(30), AgentPlanner.parseDuration("30s"));
        assertEquals(Duration.ofMinutes(2), AgentPlanner.parseDuration("2m"));
        assertEquals(Duration.ofSeconds(7), AgentPlanner.parseDuration("7"));
        assertEquals(null, AgentPlanner.parseDuration("soon"));
    }
}
