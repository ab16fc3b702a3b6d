package dev.apiary.crds;

/** Condition types used on VirtualMachine and VmmNode status. */
public final class ConditionTypes {
    /** VM: the spec passed validation (False names the field). Operator. */
    public static final String VALID = "Valid";
    /** VM: bound to a node (False says why not). Operator. */
    public static final String SCHEDULED = "Scheduled";
    /** VM: the guest runs (agent); Unknown when its node stopped reporting (operator). VmmNode: the agent is alive. */
    public static final String READY = "Ready";
    /** VM: the last run failed; message says how, and when the next start is. Operator. */
    public static final String FAILURE = "Failure";
    /** VM: the spec changed in a way that needs a restart to take effect. Operator. */
    public static final String RESTART_REQUIRED = "RestartRequired";
    /** VM: its node's agent reports (False: node lost, the VM may still run there). Operator. */
    public static final String NODE_REACHABLE = "NodeReachable";

    private ConditionTypes() {}
}
