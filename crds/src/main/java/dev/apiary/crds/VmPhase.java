package dev.apiary.crds;

/** The coarse state of a VM; conditions carry the detail. */
public enum VmPhase {
    /** Accepted, not yet bound to a node. */
    Pending,
    /** Bound to a node, the agent has not started it yet. */
    Scheduled,
    /** The VMM process is starting or the guest is booting. */
    Starting,
    /** The guest is running. */
    Running,
    /** A stop was asked for and is under way. */
    Stopping,
    /** Not running, by request. */
    Stopped,
    /** The guest ran and powered itself off. */
    Succeeded,
    /** The VMM or the guest failed; see the Failure condition. */
    Failed,
    /** The node's agent stopped reporting; the VM may or may not be running. */
    Unknown
}
