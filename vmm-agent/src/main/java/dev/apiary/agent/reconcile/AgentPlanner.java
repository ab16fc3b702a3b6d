package dev.apiary.agent.reconcile;

import dev.apiary.agent.runtime.LocalRun;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VirtualMachineStatus.DesiredState;
import dev.apiary.crds.VmPhase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decides, from the VMs as last seen and the runtime directories of this node, what the agent does next. Pure.
 *
 * <p>The rules (docs/agent.md, "How the agent decides"): a VM bound here with desiredState Running gets a VMM for
 * status.runId unless a directory already serves that run or a newer one, or the run already ended; a live VMM
 * whose VM is deleted, stopped, superseded by a newer runId or bound elsewhere is stopped (power button, hard stop
 * after the grace period, SIGKILL after that); an ended run is reported once and its directory kept (the serial
 * history stays readable) until the VM is deleted or moves; the agent finalizer is held exactly while a VMM of this
 * agent may still run for the VM. A VM missing from a cache that has not synced yet is never acted on.
 */
public final class AgentPlanner {
    /** Annotation on a VirtualMachine: how long the guest gets to power off before the hard stop (e.g. 30s, 500ms). */
    public static final String STOP_GRACE_ANNOTATION = "apiary.dev/stop-grace-period";
    private final String node;
    private final Duration defaultGrace;
    private final Duration killAfter;

    public AgentPlanner(String node, Duration defaultGrace, Duration killAfter) {
        this.node = node;
        this.defaultGrace = defaultGrace;
        this.killAfter = killAfter;
    }

    public List<Action> plan(Collection<VirtualMachine> vms, boolean synced, List<LocalRun> runs, String endpoint,
            Instant now) {
        Map<String, VirtualMachine> byUid = new HashMap<>();
        for (VirtualMachine vm : vms) byUid.put(vm.getMetadata().getUid(), vm);
        Map<String, LocalRun> runByUid = new HashMap<>();
        for (LocalRun r : runs) runByUid.put(r.uid(), r);
        List<Action> out = new ArrayList<>();
        Set<String> launching = new HashSet<>();

        // VMs bound here that need a VMM for their current run.
        for (VirtualMachine vm : vms) {
            if (!mine(vm)) continue;
            VirtualMachineStatus st = vm.getStatus();
            long runId = runId(st);
            LocalRun r = runByUid.get(vm.getMetadata().getUid());
            boolean wanted = vm.getMetadata().getDeletionTimestamp() == null && st.desiredState == DesiredState.Running
                    && runId > 0;
            boolean ended = st.exit != null && st.exit.runId != null && st.exit.runId == runId;
            boolean reported = st.vmm != null && st.vmm.runId != null && st.vmm.runId >= runId;
            boolean served = r != null && (r.runId() >= runId || r.alive());
            if (wanted && !ended && !reported && !served) {
                out.add(new Action.Launch(vm, runId));
                launching.add(vm.getMetadata().getUid());
            }
        }

        // Every runtime directory: stop what should not run, report what runs or ended, clean up what is gone.
        for (LocalRun r : runs) {
            VirtualMachine vm = byUid.get(r.uid());
            if (vm == null || !mine(vm)) {
                if (vm == null && !synced) continue;
                String why = vm == null ? "the VM was deleted" : "the VM is no longer bound to node " + node;
                if (r.alive()) stopSequence(r, defaultGrace, why, true, now, out);
                else out.add(new Action.Cleanup(r, true));
                continue;
            }
            VirtualMachineStatus st = vm.getStatus();
            long runId = runId(st);
            boolean deleting = vm.getMetadata().getDeletionTimestamp() != null;
            String ns = vm.getMetadata().getNamespace();
            String name = vm.getMetadata().getName();
            if (r.alive()) {
                String why = deleting ? "the VM is being deleted"
                        : runId > r.runId() ? "run " + runId + " replaces run " + r.runId()
                        : st.desiredState != DesiredState.Running ? "stopped on request" : null;
                if (why != null) stopSequence(r, grace(vm), why, false, now, out);
                if (r.runId() <= runId) {
                    AgentStatus s = RunReport.of(r, endpoint);
                    if (r.runId() < runId && why != null) {
                        s = new AgentStatus(VmPhase.Stopping, s.vmm(), null, "False", "Restarting", why, endpoint,
                                s.accelerator(), s.interfaces());
                    } else if (why != null && r.stop() == null) {
                        // The power button is pressed in this pass; say so now rather than one pass later.
                        s = new AgentStatus(VmPhase.Stopping, s.vmm(), null, "False", "Stopping", why, endpoint,
                                s.accelerator(), s.interfaces());
                    }
                    report(vm, s, out);
                }
            } else {
                if (r.runId() == runId && !launching.contains(r.uid())) report(vm, RunReport.of(r, endpoint), out);
                if (deleting) out.add(new Action.Cleanup(r, false));
            }
        }

        // Finalizers and runs that ended before a VMM served them.
        for (VirtualMachine vm : vms) {
            if (!mine(vm)) continue;
            String uid = vm.getMetadata().getUid();
            LocalRun r = runByUid.get(uid);
            boolean live = r != null && r.alive();
            VirtualMachineStatus st = vm.getStatus();
            long runId = runId(st);
            boolean deleting = vm.getMetadata().getDeletionTimestamp() != null;
            if (!live && !launching.contains(uid) && holdsFinalizer(vm)) {
                out.add(new Action.ReleaseFinalizer(vm.getMetadata().getNamespace(), vm.getMetadata().getName(), uid));
            }
            boolean servedNow = r != null && r.runId() == runId;
            boolean terminal = st.exit != null && st.exit.runId != null && st.exit.runId == runId
                    && isTerminal(st.phase);
            if (live || servedNow || launching.contains(uid) || runId == 0 || terminal || deleting) continue;
            if (st.desiredState == DesiredState.Stopped) {
                report(vm, ended(runId, VmPhase.Stopped, "Stopped", "stopped before a VMM was started for run "
                        + runId, endpoint), out);
            } else if (st.vmm != null && st.vmm.runId != null && st.vmm.runId == runId) {
                report(vm, ended(runId, VmPhase.Failed, "VmmLost", "the runtime directory of run " + runId
                        + " is gone from node " + node + " (was the node restarted?)", endpoint), out);
            }
        }
        return out;
    }

    private void stopSequence(LocalRun r, Duration grace, String why, boolean orphan, Instant now, List<Action> out) {
        if (r.stop() == null) {
            out.add(new Action.PowerButton(r, grace.toMillis(), why, orphan));
            return;
        }
        Instant hard = Instant.ofEpochMilli(r.stop().at() + r.stop().graceMillis());
        if (!now.isBefore(hard.plus(killAfter))) out.add(new Action.Kill(r, orphan));
        else if (!now.isBefore(hard)) out.add(new Action.HardStop(r, orphan));
    }

    private static AgentStatus ended(long runId, VmPhase phase, String reason, String message, String endpoint) {
        VirtualMachineStatus.Exit e = new VirtualMachineStatus.Exit();
        e.runId = runId;
        e.reason = reason;
        e.message = message;
        return new AgentStatus(phase, null, e, "False", reason, message, endpoint, null);
    }

    private static void report(VirtualMachine vm, AgentStatus s, List<Action> out) {
        if (s.isReflectedIn(vm.getStatus())) return;
        out.add(new Action.Report(vm.getMetadata().getNamespace(), vm.getMetadata().getName(),
                vm.getMetadata().getUid(), s));
    }

    private boolean mine(VirtualMachine vm) {
        return vm.getStatus() != null && node.equals(vm.getStatus().nodeName);
    }

    static boolean holdsFinalizer(VirtualMachine vm) {
        return vm.getMetadata().getFinalizers() != null && vm.getMetadata().getFinalizers().contains(Finalizers.AGENT);
    }

    static long runId(VirtualMachineStatus st) {
        return st == null || st.runId == null ? 0 : st.runId;
    }

    static boolean isTerminal(VmPhase p) {
        return p == VmPhase.Stopped || p == VmPhase.Succeeded || p == VmPhase.Failed;
    }

    /** The VM's stop grace period: its annotation (30s, 500ms, 2m, or plain seconds), else the agent's default. */
    Duration grace(VirtualMachine vm) {
        Map<String, String> a = vm.getMetadata().getAnnotations();
        String v = a == null ? null : a.get(STOP_GRACE_ANNOTATION);
        Duration d = parseDuration(v);
        return d == null ? defaultGrace : d;
    }

    static Duration parseDuration(String v) {
        if (v == null || v.isBlank()) return null;
        String s = v.trim();
        try {
            if (s.endsWith("ms")) return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            if (s.endsWith("s")) return Duration.ofMillis((long) (Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
            if (s.endsWith("m")) return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)) * 60);
            return Duration.ofSeconds(Long.parseLong(s));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
