package dev.apiary.operator.lifecycle;

import dev.apiary.crds.VirtualMachineStatus;
import java.time.Duration;
import java.util.List;

/**
 * What one reconcile of a VirtualMachine decided: the status to write, the events to record, the finalizer edits
 * and when to look again.
 *
 * @param boundTo          the node the VM was just bound to (null when the binding did not change)
 * @param unbound          the VM just gave its node back
 * @param requeueAfter     look again after this long even if nothing changes (backoff timers), or null
 */
public record VmPlan(VirtualMachineStatus status, List<Event> events, boolean addOperatorFinalizer,
        boolean removeOperatorFinalizer, boolean removeAgentFinalizer, String boundTo, boolean unbound,
        boolean unschedulable, Duration requeueAfter) {

    /** A Kubernetes Event to record on the VM. */
    public record Event(String type, String reason, String message) {
        public static Event normal(String reason, String message) {
            return new Event("Normal", reason, message);
        }

        public static Event warning(String reason, String message) {
            return new Event("Warning", reason, message);
        }
    }
}
