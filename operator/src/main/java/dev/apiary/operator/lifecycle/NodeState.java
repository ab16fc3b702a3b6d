package dev.apiary.operator.lifecycle;

/** The state of the node a VM is bound to, as the VM's reconcile sees it. */
public record NodeState(Presence presence, String message) {
    public enum Presence {
        /** The VM has no node. */
        NONE,
        /** The VmmNode exists and its agent reports. */
        READY,
        /** The VmmNode exists but its heartbeat is too old: the VM may or may not still run there. */
        NOT_READY,
        /** The VmmNode object is gone: the node is known to be gone, so are its VMs. */
        GONE
    }

    public static final NodeState NONE = new NodeState(Presence.NONE, "");
    public static final NodeState READY = new NodeState(Presence.READY, "");
}
