package dev.apiary.operator.lifecycle;

import static dev.apiary.crds.ConditionTypes.*;
import static dev.apiary.operator.lifecycle.Conditions.FALSE;
import static dev.apiary.operator.lifecycle.Conditions.TRUE;
import static dev.apiary.operator.lifecycle.Conditions.UNKNOWN;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.ManifestException;
import dev.apiary.crds.RunStrategy;
import dev.apiary.crds.SpecValidation;
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
import java.util.Objects;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Decides, from one VirtualMachine as last seen, its node's state and the clock, what the operator does next. Pure:
 * no API server, no clock of its own; the scheduler is passed in. The rules are in docs/operator.md.
 */
public final class VmPlanner {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Spec fields a running VMM cannot take on without a restart. */
    private static final List<String> HARDWARE = List.of("cpus", "memory", "boot", "disks", "networks", "serial",
            "display", "rebootPolicy");

    static final String NODE_DELETED = "NodeDeleted";
    private final Backoff backoff;

    public VmPlanner(Backoff backoff) {
        this.backoff = backoff;
    }

    public VmPlan plan(VirtualMachine vm, NodeState node, Function<VirtualMachineSpec, Placement> scheduler, Instant now) {
        Ctx c = new Ctx(vm, now);
        VirtualMachineStatus st = c.st;
        boolean deleting = vm.getMetadata().getDeletionTimestamp() != null;
        List<String> finalizers = vm.getMetadata().getFinalizers() == null ? List.of() : vm.getMetadata().getFinalizers();
        boolean agentHolds = finalizers.contains(Finalizers.AGENT);
        boolean removeAgentFinalizer = false;

        // What happened to the node comes first: it decides whether anything else may be decided.
        if (st.nodeName != null) {
            switch (node.presence()) {
                case GONE -> {
                    c.warn("NodeDeleted", "VmmNode " + st.nodeName + " was deleted, so the VM no longer runs there");
                    long r = runId(st);
                    if (r > 0 && !runEnded(st)) {
                        VirtualMachineStatus.Exit exit = new VirtualMachineStatus.Exit();
                        exit.runId = r;
                        exit.reason = NODE_DELETED;
                        exit.message = "VmmNode " + st.nodeName + " was deleted while run " + r + " was on it";
                        exit.finishedAt = now.toString();
                        st.exit = exit;
                        st.phase = VmPhase.Failed;
                    }
                    st.nodeName = null;
                    st.vmm = null;
                    st.agent = null;
                    Conditions.remove(st.conditions, NODE_REACHABLE);
                    Conditions.set(st.conditions, SCHEDULED, FALSE, "NodeDeleted", "VmmNode was deleted", now, c.gen);
                    removeAgentFinalizer = agentHolds;
                    agentHolds = false;
                }
                case NOT_READY -> {
                    Conditions.set(st.conditions, NODE_REACHABLE, FALSE, "NodeNotReady", node.message()
                            + "; the VM may still run there, so it is not started elsewhere until the VmmNode is"
                            + " deleted (docs/user-guide.md, Node loss)", now, c.gen);
                    Conditions.set(st.conditions, READY, UNKNOWN, "NodeNotReady", node.message(), now, c.gen);
                    if (st.phase != VmPhase.Unknown) {
                        c.warn("NodeNotReady", node.message() + "; phase Unknown until the node reports again or its"
                                + " VmmNode is deleted");
                        st.phase = VmPhase.Unknown;
                    }
                }
                case READY -> {
                    if (Conditions.find(st.conditions, NODE_REACHABLE).isPresent()) {
                        Conditions.set(st.conditions, NODE_REACHABLE, TRUE, "AgentReporting",
                                "the agent on " + st.nodeName + " reports", now, c.gen);
                    }
                }
                case NONE -> { }
            }
        }

        if (deleting) {
            return planDeletion(c, node, agentHolds, removeAgentFinalizer, finalizers);
        }
        boolean addFinalizer = !finalizers.contains(Finalizers.OPERATOR);

        VirtualMachineSpec spec = vm.getSpec();
        List<ManifestException> problems = SpecValidation.problems(spec);
        if (!problems.isEmpty()) {
            String msg = problems.stream().map(ManifestException::getMessage).collect(Collectors.joining("; "));
            if (Conditions.set(st.conditions, VALID, FALSE, "InvalidSpec", msg, now, c.gen)) {
                c.warn("InvalidSpec", msg);
            }
            if (st.phase == null) st.phase = VmPhase.Pending;
            finish(c);
            return c.plan(addFinalizer, false, removeAgentFinalizer, null, false, false, null);
        }
        Conditions.set(st.conditions, VALID, TRUE, "SpecValid", "the spec passed validation", now, c.gen);
        if (st.nodeName != null && node.presence() == NodeState.Presence.NOT_READY) {
            finish(c);
            return c.plan(addFinalizer, false, removeAgentFinalizer, null, false, false, null);
        }

        RunStrategy strategy = spec.runStrategy == null ? RunStrategy.Always : spec.runStrategy;
        LifecycleAction action = null;
        VirtualMachineSpec.LifecycleRequest req = spec.lifecycleRequest;
        if (req != null && req.id != null && req.action != null
                && (st.lastRequest == null || !req.id.equals(st.lastRequest.id))) {
            String refusal = RunStrategies.refusal(strategy, req.action, c.name);
            VirtualMachineStatus.RequestResult res = new VirtualMachineStatus.RequestResult();
            res.id = req.id;
            res.action = req.action;
            res.time = now.toString();
            if (refusal != null) {
                res.result = "Refused";
                res.message = refusal;
                c.warn("RequestRefused", req.action + " (id " + req.id + ") refused: " + refusal);
            } else {
                res.result = "Accepted";
                res.message = req.action + " accepted";
                action = req.action;
                c.normal("RequestAccepted", req.action + " (id " + req.id + ") accepted");
            }
            st.lastRequest = res;
        }

        long r = runId(st);
        boolean ended = runEnded(st);
        boolean failed = ended && st.phase == VmPhase.Failed;
        // Losing the node is not the guest's fault: start again elsewhere without a crash-loop delay.
        boolean crashed = failed && !(st.exit != null && NODE_DELETED.equals(st.exit.reason));
        boolean initial = st.desiredState == null;
        DesiredState desired = st.desiredState;
        boolean newRun = false;
        boolean automatic = false;
        boolean backingOff = false;
        switch (strategy) {
            case Halted -> desired = DesiredState.Stopped;
            case Always -> {
                if (initial || ended || desired == DesiredState.Stopped) {
                    newRun = true;
                    automatic = ended && desired == DesiredState.Running;
                    backingOff = crashed;
                }
                desired = DesiredState.Running;
            }
            case RerunOnFailure -> {
                if (initial) {
                    newRun = true;
                    desired = DesiredState.Running;
                } else if (ended && desired == DesiredState.Running) {
                    if (failed) {
                        newRun = true;
                        automatic = true;
                        backingOff = crashed;
                    } else {
                        desired = DesiredState.Stopped;
                    }
                }
            }
            case Once -> {
                if (initial) {
                    newRun = true;
                    desired = DesiredState.Running;
                } else if (ended) {
                    desired = DesiredState.Stopped;
                }
            }
            case Manual -> {
                if (initial || ended) desired = DesiredState.Stopped;
            }
        }
        // Wanted running but holding no node means nothing runs anywhere (never placed, or no fit last time): place it.
        if (desired == DesiredState.Running && st.nodeName == null && !newRun) newRun = true;
        if (action == LifecycleAction.Start) {
            if (desired != DesiredState.Running || ended || r == 0) {
                newRun = true;
                automatic = false;
                backingOff = false;
                st.failures = 0;
                st.nextStartAt = null;
            }
            desired = DesiredState.Running;
        } else if (action == LifecycleAction.Stop) {
            desired = DesiredState.Stopped;
            newRun = false;
            st.nextStartAt = null;
        } else if (action == LifecycleAction.Restart) {
            newRun = true;
            automatic = false;
            backingOff = false;
            st.failures = 0;
            st.nextStartAt = null;
            desired = DesiredState.Running;
        }
        if (ended && !failed) st.failures = 0;

        if (failed) {
            String why = st.exit != null && st.exit.reason != null ? st.exit.reason : "Failed";
            String detail = st.exit != null && st.exit.message != null ? ": " + st.exit.message : "";
            Conditions.set(st.conditions, FAILURE, TRUE, why, "run " + r + " failed" + detail, now, c.gen);
        } else if (st.phase == VmPhase.Running && Conditions.isTrue(st.conditions, FAILURE)) {
            Conditions.set(st.conditions, FAILURE, FALSE, "Running", "run " + r + " is running", now, c.gen);
        }

        Duration requeue = null;
        if (newRun && backingOff) {
            if (st.nextStartAt == null) {
                st.failures = (st.failures == null ? 0 : st.failures) + 1;
                Duration d = backoff.delay(st.failures);
                st.nextStartAt = now.plus(d).toString();
                c.warn("BackOff", "run " + r + " failed (" + (st.exit != null ? st.exit.reason : "Failed") + "), "
                        + st.failures + " failure(s) in a row; next start in " + d.toSeconds() + "s (runStrategy "
                        + strategy + ")");
            }
            Instant at = Instant.parse(st.nextStartAt);
            if (now.isBefore(at)) {
                newRun = false;
                requeue = Duration.between(now, at);
                Conditions.find(st.conditions, FAILURE).ifPresent(f -> {
                    String m = f.getMessage();
                    int cut = m.indexOf("; next start at ");
                    f.setMessage((cut >= 0 ? m.substring(0, cut) : m) + "; next start at " + at);
                });
            }
        }

        String boundTo = null;
        boolean unschedulable = false;
        if (newRun && st.nodeName == null) {
            Placement p = scheduler.apply(spec);
            if (p instanceof Placement.Bound b) {
                st.nodeName = b.node();
                boundTo = b.node();
                st.vmm = null;
                Conditions.set(st.conditions, SCHEDULED, TRUE, "Bound", "bound to VmmNode " + b.node(), now, c.gen);
                // One event for bind and start (an Event is an API write, as kube-scheduler records only Scheduled).
                c.normal("Scheduled", "bound to VmmNode " + b.node() + "; starting run " + (r + 1));
            } else if (p instanceof Placement.Unschedulable u) {
                newRun = false;
                unschedulable = true;
                st.phase = VmPhase.Pending;
                if (Conditions.set(st.conditions, SCHEDULED, FALSE, u.reason(), u.message(), now, c.gen)) {
                    c.warn("FailedScheduling", u.message());
                }
            }
        }
        if (newRun) {
            st.runId = r + 1;
            st.runSpec = copy(spec, VirtualMachineSpec.class);
            st.runSpec.lifecycleRequest = null;
            st.runGeneration = c.gen;
            st.nextStartAt = null;
            if (automatic) {
                st.restarts = (st.restarts == null ? 0 : st.restarts) + 1;
                c.normal("Restarting", "run " + r + " ended (" + (st.exit != null ? st.exit.reason : st.phase)
                        + "); starting run " + st.runId + " on " + st.nodeName + " (runStrategy " + strategy + ")");
            } else if (boundTo == null) {
                c.normal("Starting", "starting run " + st.runId + " on " + st.nodeName);
            }
            if (st.phase == null || st.phase == VmPhase.Pending || isTerminal(st.phase) || st.phase == VmPhase.Unknown) {
                st.phase = VmPhase.Scheduled;
            }
        }
        if (desired == DesiredState.Running && !newRun && r == 0 && st.nodeName == null && !unschedulable) {
            st.phase = VmPhase.Pending;
        }
        if (desired != st.desiredState && desired == DesiredState.Stopped && st.desiredState != null) {
            c.normal("Stopping", "desired state Stopped (runStrategy " + strategy + ")");
        }
        st.desiredState = desired;

        // A VM that is stopped for good gives its node back once its agent has let go of it.
        boolean unbound = false;
        if (st.desiredState == DesiredState.Stopped && st.nodeName != null && !agentHolds
                && (runId(st) == 0 || runEnded(st))) {
            c.normal("Released", "stopped; VmmNode " + st.nodeName + " released");
            Conditions.set(st.conditions, SCHEDULED, FALSE, "Stopped", "stopped; no node held", now, c.gen);
            st.nodeName = null;
            unbound = true;
        }
        if (st.desiredState == DesiredState.Stopped && st.nodeName == null) {
            if (st.phase == null || st.phase == VmPhase.Pending || st.phase == VmPhase.Scheduled) st.phase = VmPhase.Stopped;
            if (Conditions.find(st.conditions, SCHEDULED).isEmpty()) {
                Conditions.set(st.conditions, SCHEDULED, FALSE, "NotRequested",
                        "runStrategy " + strategy + ": the VM is not to run, so it holds no node", now, c.gen);
            }
        }

        List<String> changed = st.runSpec != null && st.desiredState == DesiredState.Running && !runEnded(st)
                ? hardwareChanges(spec, st.runSpec) : List.of();
        if (!changed.isEmpty()) {
            String msg = String.join(", ", changed) + " changed since run " + runId(st) + " started; restart to apply: "
                    + "kubectl patch vm " + c.name + " --type merge -p '{\"spec\":{\"lifecycleRequest\":"
                    + "{\"action\":\"Restart\",\"id\":\"'$(date +%s)'\"}}}'";
            if (Conditions.set(st.conditions, RESTART_REQUIRED, TRUE, "SpecChanged", msg, now, c.gen)) {
                c.normal("RestartRequired", String.join(", ", changed) + " changed; the running VM keeps the old"
                        + " values until it restarts");
            }
        } else if (Conditions.find(st.conditions, RESTART_REQUIRED).isPresent()) {
            Conditions.set(st.conditions, RESTART_REQUIRED, FALSE, "UpToDate",
                    "the running VM (if any) matches the spec", now, c.gen);
        }
        finish(c);
        return c.plan(addFinalizer, false, removeAgentFinalizer, boundTo, unbound, unschedulable, requeue);
    }

    private VmPlan planDeletion(Ctx c, NodeState node, boolean agentHolds, boolean removeAgentFinalizer,
            List<String> finalizers) {
        VirtualMachineStatus st = c.st;
        if (st.desiredState != DesiredState.Stopped) {
            st.desiredState = DesiredState.Stopped;
            c.normal("Deleting", st.nodeName == null ? "deleting; no node holds the VM"
                    : "deleting; asking the agent on " + st.nodeName + " to stop the VM and release it");
        }
        boolean removeOperator = finalizers.contains(Finalizers.OPERATOR) && !agentHolds;
        if (removeOperator) {
            c.normal("Released", "no agent holds the VM any more; deletion proceeds");
        }
        finish(c);
        return c.plan(false, removeOperator, removeAgentFinalizer, null, st.nodeName == null, false, null);
    }

    private void finish(Ctx c) {
        VirtualMachineStatus st = c.st;
        if (st.nodeName == null && st.phase != null && st.phase != VmPhase.Unknown) {
            String reason = st.phase.name();
            Conditions.set(st.conditions, READY, FALSE, reason, "the VM is not running (phase " + reason + ")",
                    c.now, c.gen);
        }
        st.observedGeneration = c.gen;
    }

    static long runId(VirtualMachineStatus st) {
        return st.runId == null ? 0 : st.runId;
    }

    /** Whether the agent has reported the end of the current run (phase Stopped, Succeeded or Failed for it). */
    static boolean runEnded(VirtualMachineStatus st) {
        long r = runId(st);
        return r > 0 && st.exit != null && Objects.equals(st.exit.runId, r) && isTerminal(st.phase);
    }

    static boolean isTerminal(VmPhase p) {
        return p == VmPhase.Stopped || p == VmPhase.Succeeded || p == VmPhase.Failed;
    }

    /** The spec fields that differ between what runs and what is asked for, as "spec.cpus" paths. */
    static List<String> hardwareChanges(VirtualMachineSpec spec, VirtualMachineSpec running) {
        var a = JSON.valueToTree(spec);
        var b = JSON.valueToTree(running);
        List<String> out = new ArrayList<>();
        for (String f : HARDWARE) {
            if (!Objects.equals(normal(a.get(f)), normal(b.get(f)))) out.add("spec." + f);
        }
        return out;
    }

    private static Object normal(com.fasterxml.jackson.databind.JsonNode n) {
        if (n == null || n.isNull() || (n.isContainerNode() && n.isEmpty())) return null;
        return n;
    }

    static <T> T copy(Object o, Class<T> type) {
        return JSON.convertValue(o, type);
    }

    private static final class Ctx {
        final VirtualMachineStatus st;
        final Instant now;
        final Long gen;
        final String name;
        final List<VmPlan.Event> events = new ArrayList<>();

        Ctx(VirtualMachine vm, Instant now) {
            this.st = vm.getStatus() == null ? new VirtualMachineStatus() : copy(vm.getStatus(), VirtualMachineStatus.class);
            if (st.conditions == null) st.conditions = new ArrayList<>();
            this.now = now;
            this.gen = vm.getMetadata().getGeneration() == null ? 0L : vm.getMetadata().getGeneration();
            this.name = vm.getMetadata().getName();
        }

        void normal(String reason, String msg) {
            events.add(VmPlan.Event.normal(reason, msg));
        }

        void warn(String reason, String msg) {
            events.add(VmPlan.Event.warning(reason, msg));
        }

        VmPlan plan(boolean add, boolean remove, boolean removeAgent, String boundTo, boolean unbound,
                boolean unschedulable, Duration requeue) {
            return new VmPlan(st, List.copyOf(events), add, remove, removeAgent, boundTo, unbound, unschedulable, requeue);
        }
    }
}
