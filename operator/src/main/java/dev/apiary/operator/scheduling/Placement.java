package dev.apiary.operator.scheduling;

/** The scheduler's answer for one VM. */
public sealed interface Placement {
    /** Bind to this node. */
    record Bound(String node) implements Placement {}

    /** No node fits; reason is a CamelCase word (Unschedulable, NoNodes), message says which node lacked what. */
    record Unschedulable(String reason, String message) implements Placement {}
}
