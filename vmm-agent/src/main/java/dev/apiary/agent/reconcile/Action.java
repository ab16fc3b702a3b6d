package dev.apiary.agent.reconcile;

import dev.apiary.agent.runtime.LocalRun;
import dev.apiary.crds.VirtualMachine;

/**
 * One step the agent takes. Actions marked {@code orphan} concern a VM the cache no longer shows on this node; the
 * executor confirms that with a fresh read before it acts, so a stale or empty cache never stops a VM.
 */
public sealed interface Action {
    /** Add the agent finalizer, prepare the runtime directory and start {@code vmm launch} for run runId. */
    record Launch(VirtualMachine vm, long runId) implements Action {}

    /** Write stop.json and press the ACPI power button. */
    record PowerButton(LocalRun run, long graceMillis, String reason, boolean orphan) implements Action {}

    /** The guest did not power off within the grace period: stop the VM now (control socket). */
    record HardStop(LocalRun run, boolean orphan) implements Action {}

    /** The VMM did not exit after a hard stop either: SIGKILL. */
    record Kill(LocalRun run, boolean orphan) implements Action {}

    /** Remove the runtime directory of a run that ended and whose VM is gone or moved. */
    record Cleanup(LocalRun run, boolean orphan) implements Action {}

    /** Write the agent's part of the VM's status. */
    record Report(String namespace, String name, String uid, AgentStatus status) implements Action {}

    /** No process of this agent serves the VM any more: release the agent finalizer. */
    record ReleaseFinalizer(String namespace, String name, String uid) implements Action {}
}
