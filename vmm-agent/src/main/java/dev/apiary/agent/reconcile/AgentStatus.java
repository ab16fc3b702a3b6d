package dev.apiary.agent.reconcile;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.crds.Accelerator;
import dev.apiary.crds.ConditionTypes;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VmPhase;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The part of a VM's status the agent owns (docs/operator.md, "Contract with the vmm-agent"): phase while and after
 * a run, the VMM process, how the run ended, the Ready condition and the agent endpoint. {@code exit == null} leaves
 * the exit of an earlier run in place. {@code accelerator} is what this run got as the VMM's state.json says (null
 * before the VMM has said, or when no VMM ran), and is always written: a new run never shows the last one's;
 * {@code interfaces} likewise (null: removed).
 */
public record AgentStatus(VmPhase phase, VirtualMachineStatus.VmmProcess vmm, VirtualMachineStatus.Exit exit,
        String readyStatus, String readyReason, String readyMessage, String endpoint, Accelerator accelerator,
        List<VirtualMachineStatus.Interface> interfaces) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Without interfaces: no VMM runs (status.interfaces is removed). */
    public AgentStatus(VmPhase phase, VirtualMachineStatus.VmmProcess vmm, VirtualMachineStatus.Exit exit,
            String readyStatus, String readyReason, String readyMessage, String endpoint, Accelerator accelerator) {
        this(phase, vmm, exit, readyStatus, readyReason, readyMessage, endpoint, accelerator, null);
    }

    /** Whether {@code current} already says all this (lastTransitionTime aside). */
    public boolean isReflectedIn(VirtualMachineStatus current) {
        if (current == null) return false;
        if (current.phase != phase) return false;
        if (!same(current.vmm, vmm)) return false;
        if (current.accelerator != accelerator) return false;
        if (!same(current.interfaces, interfaces)) return false;
        if (exit != null && !same(current.exit, exit)) return false;
        if (endpoint != null && (current.agent == null || !endpoint.equals(current.agent.endpoint))) return false;
        Optional<Condition> ready = ready(current);
        return ready.isPresent() && readyStatus.equals(ready.get().getStatus())
                && Objects.equals(readyReason, ready.get().getReason())
                && Objects.equals(readyMessage, ready.get().getMessage());
    }

    /** Writes these fields into a copy of {@code current} (which is left alone). */
    public VirtualMachineStatus applyTo(VirtualMachineStatus current, String now) {
        VirtualMachineStatus s = current == null ? new VirtualMachineStatus()
                : JSON.convertValue(current, VirtualMachineStatus.class);
        if (s.conditions == null) s.conditions = new ArrayList<>();
        s.phase = phase;
        s.vmm = vmm;
        s.accelerator = accelerator;
        s.interfaces = interfaces;
        if (exit != null) s.exit = exit;
        if (endpoint != null) {
            s.agent = new VirtualMachineStatus.Agent();
            s.agent.endpoint = endpoint;
        }
        Optional<Condition> old = ready(s);
        String since = old.isPresent() && readyStatus.equals(old.get().getStatus())
                && old.get().getLastTransitionTime() != null ? old.get().getLastTransitionTime() : now;
        s.conditions.removeIf(c -> ConditionTypes.READY.equals(c.getType()));
        s.conditions.add(new ConditionBuilder().withType(ConditionTypes.READY).withStatus(readyStatus)
                .withReason(readyReason).withMessage(readyMessage).withLastTransitionTime(since).build());
        return s;
    }

    private static Optional<Condition> ready(VirtualMachineStatus s) {
        return s.conditions == null ? Optional.empty()
                : s.conditions.stream().filter(c -> ConditionTypes.READY.equals(c.getType())).findFirst();
    }

    private static boolean same(Object a, Object b) {
        if (a == null || b == null) return a == b;
        return JSON.valueToTree(a).equals(JSON.valueToTree(b));
    }
}
