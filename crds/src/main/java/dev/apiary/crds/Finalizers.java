package dev.apiary.crds;

/** Finalizers on a VirtualMachine; see docs/operator.md for the deletion hand-off. */
public final class Finalizers {
    /** Added by the operator to every VM; removed once no agent holds the VM. */
    public static final String OPERATOR = "apiary.dev/operator";
    /** Added by a node's agent before it starts a VMM process; removed once the process is gone and resources freed. */
    public static final String AGENT = "apiary.dev/agent";

    private Finalizers() {}
}
