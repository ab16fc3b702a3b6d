package dev.apiary.operator.scheduling;

import dev.apiary.crds.Accelerator;
import java.util.List;
import java.util.Map;

/**
 * What the scheduler knows of one VmmNode: its labels, whether it takes VMs, its capacity and what the VMs bound to
 * it already hold.
 *
 * @param notReadyReason why the node cannot take VMs now (null when it is Ready), e.g. "NotReady: no heartbeat for 2m"
 * @param accelerators   what the node offers ({@link AcceleratorOffer#of})
 */
public record NodeView(String name, Map<String, String> labels, String notReadyReason, boolean unschedulable,
        int cpus, long memory, int usedCpus, long usedMemory, int vms, List<AcceleratorOffer> accelerators) {

    public NodeView {
        accelerators = accelerators == null ? List.of() : List.copyOf(accelerators);
    }

    public boolean offers(Accelerator a) {
        return AcceleratorOffer.offers(accelerators, a);
    }

    public boolean ready() {
        return notReadyReason == null;
    }

    public int freeCpus() {
        return cpus - usedCpus;
    }

    public long freeMemory() {
        return memory - usedMemory;
    }
}
