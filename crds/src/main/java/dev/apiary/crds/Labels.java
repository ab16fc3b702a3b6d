package dev.apiary.crds;

/** Labels Apiary sets on its objects. */
public final class Labels {
    /**
     * On a VirtualMachine: the VmmNode it is bound to ({@code status.nodeName}), set by the operator with each binding
     * and removed when the VM gives the node back. Agents watch with the selector {@code apiary.dev/node=<node>} (the
     * API server cannot select custom resources by a status field), as KubeVirt's handler does with its node label.
     */
    public static final String NODE = "apiary.dev/node";

    /**
     * On an agent's node Lease ({@code coordination.k8s.io/v1}, {@code apiary-node-<node>}): the node it is for. The
     * operator watches Leases with this label and counts each renewal it observes as a heartbeat.
     */
    public static final String NODE_LEASE = "apiary.dev/node-lease";

    private Labels() {}
}
