package dev.apiary.agent.runtime;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * {@code agent-exit.json}: the exit status the agent itself collected when the VMM was its child (so also for a VMM
 * killed by a signal, which writes no exit.json). A VMM adopted after an agent restart is not the new agent's child;
 * its end is known from exit.json alone.
 *
 * @param exitCode as Java reports it: the status, or 128 + the signal number
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReapedExit(int exitCode, String at) {

    /** The signal that killed the process, if the status says one did. */
    public Integer signal() {
        return exitCode > 128 && exitCode < 128 + 65 ? exitCode - 128 : null;
    }
}
