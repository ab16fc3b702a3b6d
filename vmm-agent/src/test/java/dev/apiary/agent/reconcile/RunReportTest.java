package dev.apiary.agent.reconcile;

import static dev.apiary.agent.reconcile.AgentPlannerTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.agent.runtime.ReapedExit;
import dev.apiary.agent.runtime.StopRequest;
import dev.apiary.agent.runtime.LocalRun;
import dev.apiary.agent.runtime.VmmExit;
import dev.apiary.agent.runtime.VmmState;
import dev.apiary.crds.Accelerator;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VmPhase;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a run's end reads in the VM's status, for each way a VMM ends. */
class RunReportTest {
    static AgentStatus ended(VmmExit exit, ReapedExit reaped, StopRequest stop, String phase) {
        return RunReport.of(run("a", 3, false, phase, exit, reaped, stop), "https://x");
    }

    @Test
    void startingWhileTheVmmHasNotSaidRunning() {
        assertEquals(VmPhase.Starting, RunReport.of(run("a", 1, true, null, null, null, null), null).phase());
        assertEquals(VmPhase.Starting, RunReport.of(run("a", 1, true, "Starting", null, null, null), null).phase());
    }

    @Test
    void guestPowerOffSucceeds() {
        AgentStatus s = ended(new VmmExit(0, "PowerOff", "the guest powered off", "t"), null, null, "Running");
        assertEquals(VmPhase.Succeeded, s.phase());
        assertEquals(0, s.exit().exitCode);
        assertEquals("t", s.exit().finishedAt);
        assertEquals(3L, s.exit().runId);
    }

    @Test
    void guestResetWithRebootPolicyStopSucceeds() {
        assertEquals(VmPhase.Succeeded, ended(new VmmExit(0, "Reset", null, null), null, null, "Running").phase());
    }

    @Test
    void startFailureCarriesTheVmmsErrorLine() {
        AgentStatus s = ended(new VmmExit(2, "BadInput", "spec.boot.kernel.path: no such file", null), null, null, null);
        assertEquals(VmPhase.Failed, s.phase());
        assertEquals("BootFailed", s.exit().reason);
        assertEquals("spec.boot.kernel.path: no such file", s.exit().message);
        s = ended(null, new ReapedExit(2, "t"), null, null);
        assertEquals("BootFailed", s.exit().reason);
        assertEquals("vmm: boom", s.exit().message);
    }

    @Test
    void theAcceleratorARunGotIsWhatStateJsonSays() {
        AgentStatus live = RunReport.of(run("a", 1, true, "Running", null, null, null), null);
        assertEquals(Accelerator.Emulated, live.accelerator());
        VirtualMachineStatus st = live.applyTo(null, "t");
        assertEquals(Accelerator.Emulated, st.accelerator);
        assertTrue(live.isReflectedIn(st));
        st.accelerator = Accelerator.KVM;
        assertFalse(live.isReflectedIn(st), "a status showing another accelerator is rewritten");
        AgentStatus starting = RunReport.of(run("a", 2, true, null, null, null, null), null);
        assertNull(starting.accelerator(), "before state.json the run has no accelerator yet");
        assertNull(starting.applyTo(st, "t").accelerator, "a new run does not show the last run's accelerator");
        assertEquals(Accelerator.Emulated, ended(new VmmExit(0, "PowerOff", null, null), null, null, "Running")
                .accelerator(), "an ended run keeps what it ran with");
    }

    @Test
    void aKvmVmOnAHostWithoutKvmFailsWithTheVmmsReason() {
        String why = "spec.accelerator: KVM is not usable on this host: /dev/kvm does not exist";
        AgentStatus s = ended(new VmmExit(2, "BadInput", why, "t"), null, null, null);
        assertEquals(VmPhase.Failed, s.phase());
        assertEquals("BootFailed", s.exit().reason);
        assertEquals(why, s.exit().message);
        assertEquals(2, s.exit().exitCode);
        assertEquals("BootFailed", s.readyReason());
        assertEquals(why, s.readyMessage());
        assertNull(s.accelerator(), "the run got no accelerator");
    }

    @Test
    void guestAndVmmFailures() {
        assertEquals("EmulationFailure", ended(new VmmExit(1, "EmulationFailure", "x", null), null, null, "Running")
                .exit().reason);
        assertEquals("VmmError", ended(new VmmExit(3, "HostError", "x", null), null, null, "Running").exit().reason);
        AgentStatus k = ended(null, new ReapedExit(137, "t"), null, "Running");
        assertEquals(VmPhase.Failed, k.phase());
        assertEquals("VmmCrashed", k.exit().reason);
        assertEquals(137, k.exit().exitCode);
        assertTrue(k.exit().message.contains("signal 9 (SIGKILL)"));
        AgentStatus away = ended(null, null, null, "Running");
        assertEquals("VmmCrashed", away.exit().reason);
        assertTrue(away.exit().message.contains("vmm: boom"));
    }

    @Test
    void anEndTheAgentAskedForIsStopped() {
        StopRequest stop = new StopRequest(0, 1000, "stopped on request");
        AgentStatus s = ended(new VmmExit(0, "PowerOff", null, null), null, stop, "Running");
        assertEquals(VmPhase.Stopped, s.phase());
        assertTrue(s.exit().message.contains("power button"));
        assertEquals(VmPhase.Stopped, ended(null, new ReapedExit(137, "t"), stop, "Running").phase());
        AgentStatus live = RunReport.of(run("a", 1, true, "Running", null, null, stop), null);
        assertEquals(VmPhase.Stopping, live.phase());
    }

    @Test
    void aRunningVmShowsItsInterfacesAndAnEndedOneNone() {
        var live = run("a", 1, true, "Running", null, null, null);
        var st = live.state();
        var withNics = new VmmState(st.phase(), st.pid(), st.startedAt(), st.bootMillis(), st.boots(), st.vcpus(),
                st.memoryBytes(), st.devices(), st.fullGuests(), st.accelerator(), List.of(
                        new VmmState.Interface("default", "52:54:00:aa:bb:cc", "tap", "ap0123456789", 2,
                                List.of("10.99.0.7", "2001:db8:0:0:0:0:0:7")),
                        new VmmState.Interface("side", "52:54:00:aa:bb:cd", "passt", "passt:77", 1, List.of())));
        var r = new LocalRun(live.dir(), live.id(), live.pid(), true, withNics, null, null, null, null);
        AgentStatus s = RunReport.of(r, null);
        assertEquals(2, s.interfaces().size());
        VirtualMachineStatus.Interface i = s.interfaces().get(0);
        assertEquals("default", i.name);
        assertEquals("52:54:00:aa:bb:cc", i.mac);
        assertEquals("10.99.0.7", i.ipAddress);
        assertEquals(List.of("10.99.0.7", "2001:db8:0:0:0:0:0:7"), i.ipAddresses);
        assertEquals("ap0123456789", i.hostInterface);
        assertEquals(2, i.queues);
        assertNull(s.interfaces().get(1).ipAddress, "no address seen yet");
        VirtualMachineStatus applied = s.applyTo(null, "t");
        assertTrue(s.isReflectedIn(applied));
        // The run ends: the interfaces go.
        AgentStatus ended = ended(new VmmExit(0, "PowerOff", null, "t"), null, null, "Running");
        assertNull(ended.applyTo(applied, "t").interfaces);
        assertFalse(ended.isReflectedIn(applied));
    }
}
