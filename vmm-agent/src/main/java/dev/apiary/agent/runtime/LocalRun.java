package dev.apiary.agent.runtime;

/**
 * What one runtime directory says at one moment: which run of which VM, whether its VMM process lives, what the VMM
 * and the agent wrote. The input of the agent's decisions; a plain value, built by {@link VmmProcesses#observe}.
 *
 * @param alive     the VMM process exists and is the one started for this directory (pid reuse is checked)
 * @param logLine   the last line of vmm.log (the VMM's error line when it failed), read only once it ended
 */
public record LocalRun(RunDir dir, RunIdentity id, Long pid, boolean alive, VmmState state, VmmExit exit,
        ReapedExit reaped, StopRequest stop, String logLine) {

    public String uid() {
        return id.uid();
    }

    public long runId() {
        return id.runId();
    }

    public boolean ended() {
        return !alive;
    }
}
