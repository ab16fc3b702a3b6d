package dev.apiary.operator.lifecycle;

import dev.apiary.crds.RunStrategy;
import dev.apiary.crds.VirtualMachineSpec.LifecycleAction;

/** Which lifecycle requests each run strategy accepts; a refusal says what to do instead. */
public final class RunStrategies {
    private RunStrategies() {}

    /** Null when the request is accepted, else why it is refused, with the command that does what was meant. */
    public static String refusal(RunStrategy strategy, LifecycleAction action, String vmName) {
        String patch = "kubectl patch vm " + vmName + " --type merge -p '{\"spec\":{\"runStrategy\":\"%s\"}}'";
        return switch (strategy) {
            case Always -> action == LifecycleAction.Stop
                    ? "runStrategy Always starts a stopped VM again, so Stop would be undone; to stop it: "
                            + patch.formatted("Halted")
                    : null;
            case Halted -> action == LifecycleAction.Stop ? null
                    : "runStrategy Halted keeps the VM stopped, so " + action + " is refused; to run it: "
                            + patch.formatted("Always") + " (or Manual, then request Start)";
            case Once -> action == LifecycleAction.Stop ? null
                    : "runStrategy Once runs the VM one time only, so " + action + " is refused; to run it again: "
                            + patch.formatted("Manual") + ", then request Start";
            case RerunOnFailure, Manual -> null;
        };
    }
}
