package dev.apiary.agent.reconcile;

import dev.apiary.agent.runtime.LocalRun;
import dev.apiary.agent.runtime.ReapedExit;
import dev.apiary.agent.runtime.VmmExit;
import dev.apiary.agent.runtime.VmmState;
import dev.apiary.crds.Accelerator;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VmPhase;
import java.util.ArrayList;
import java.util.List;

/** What a VM's status says about one of its runs, computed from the runtime directory alone. Pure. */
public final class RunReport {
    private RunReport() {}

    /** The status of a run: live (Starting, Running, Stopping) or ended (Stopped, Succeeded, Failed with its exit). */
    public static AgentStatus of(LocalRun run, String endpoint) {
        if (run.alive()) return live(run, endpoint);
        VirtualMachineStatus.Exit exit = exit(run);
        VmPhase phase = switch (exit.reason) {
            case "Stopped" -> VmPhase.Stopped;
            case "PowerOff", "Reset" -> VmPhase.Succeeded;
            default -> VmPhase.Failed;
        };
        return new AgentStatus(phase, null, exit, "False", exit.reason, exit.message, endpoint, accelerator(run));
    }

    /** The accelerator the run got, from state.json; null before the VMM wrote it or for a name unknown here. */
    static Accelerator accelerator(LocalRun run) {
        return run.state() == null ? null : Accelerator.named(run.state().accelerator());
    }

    /** status.interfaces from state.json: null when the VMM has not said (or has no network). */
    static List<VirtualMachineStatus.Interface> interfaces(LocalRun run) {
        if (run.state() == null || run.state().interfaces() == null || run.state().interfaces().isEmpty()) return null;
        List<VirtualMachineStatus.Interface> out = new ArrayList<>();
        for (VmmState.Interface i : run.state().interfaces()) {
            VirtualMachineStatus.Interface s = new VirtualMachineStatus.Interface();
            s.name = i.name();
            s.mac = i.mac();
            s.backend = i.backend();
            s.hostInterface = i.hostInterface();
            s.queues = i.queues();
            if (i.ipAddresses() != null && !i.ipAddresses().isEmpty()) {
                s.ipAddresses = List.copyOf(i.ipAddresses());
                s.ipAddress = i.ipAddresses().get(0);
            }
            out.add(s);
        }
        return out;
    }

    private static AgentStatus live(LocalRun run, String endpoint) {
        VirtualMachineStatus.VmmProcess p = new VirtualMachineStatus.VmmProcess();
        p.pid = run.pid();
        p.runId = run.runId();
        p.startedAt = run.state() != null && run.state().startedAt() != null ? run.state().startedAt()
                : run.id().launchedAt();
        p.bootMillis = run.state() == null ? null : run.state().bootMillis();
        String vmmPhase = run.state() == null ? null : run.state().phase();
        if (run.stop() != null || "Stopping".equals(vmmPhase)) {
            String why = run.stop() != null ? run.stop().reason() : "the VMM is stopping";
            return new AgentStatus(VmPhase.Stopping, p, null, "False", "Stopping", why, endpoint, accelerator(run),
                    interfaces(run));
        }
        if ("Running".equals(vmmPhase)) {
            return new AgentStatus(VmPhase.Running, p, null, "True", "GuestRunning",
                    "run " + run.runId() + " is running (pid " + run.pid() + ")", endpoint, accelerator(run),
                    interfaces(run));
        }
        return new AgentStatus(VmPhase.Starting, p, null, "False", "Starting",
                "the VMM of run " + run.runId() + " is starting", endpoint, accelerator(run));
    }

    /** How an ended run ended: the VMM's own report (exit.json) first, then what the agent saw of the process. */
    static VirtualMachineStatus.Exit exit(LocalRun run) {
        VirtualMachineStatus.Exit e = new VirtualMachineStatus.Exit();
        e.runId = run.runId();
        VmmExit x = run.exit();
        ReapedExit reaped = run.reaped();
        if (x != null) {
            e.exitCode = x.code();
            e.finishedAt = x.at();
            String msg = x.message();
            switch (x.reason() == null ? "" : x.reason()) {
                case "PowerOff" -> set(e, "PowerOff", msg != null ? msg : "the guest powered off");
                case "Stopped" -> set(e, "Stopped", msg != null ? msg : "stopped on request");
                case "Reset" -> set(e, "Reset", msg != null ? msg
                        : "the guest reset itself and its rebootPolicy is Stop");
                case "BadInput" -> set(e, "BootFailed", msg != null ? msg : run.logLine());
                case "EmulationFailure" -> set(e, "EmulationFailure", msg);
                case "TripleFault" -> set(e, "TripleFault", msg);
                case "KvmFailure" -> set(e, "KvmFailure", msg);
                case "HostError" -> set(e, "VmmError", msg);
                default -> set(e, x.code() != null && x.code() == 0 ? "PowerOff" : "VmmCrashed",
                        msg != null ? msg : "the VMM exited with status " + x.code());
            }
        } else if (reaped != null) {
            e.exitCode = reaped.exitCode();
            e.finishedAt = reaped.at();
            Integer sig = reaped.signal();
            if (sig != null) {
                set(e, "VmmCrashed", "the VMM process was killed by signal " + sig + signalName(sig));
            } else if (run.state() == null) {
                set(e, "BootFailed", run.logLine() != null ? run.logLine()
                        : "the VMM exited with status " + reaped.exitCode() + " before the guest started");
            } else {
                set(e, "VmmCrashed", "the VMM exited with status " + reaped.exitCode() + " without a report"
                        + (run.logLine() != null ? ": " + run.logLine() : ""));
            }
        } else {
            set(e, "VmmCrashed", "the VMM process ended without a report (killed by a signal while the agent was"
                    + " away?)" + (run.logLine() != null ? "; last log line: " + run.logLine() : ""));
        }
        if (run.stop() != null) {
            // The agent asked for the end: whatever the guest did on the way out, the run was stopped.
            String how = switch (e.reason) {
                case "Stopped" -> "stopped after the grace period";
                case "PowerOff" -> "the guest powered off after the ACPI power button";
                case "VmmCrashed" -> "killed after the guest ignored the power button and the hard stop";
                default -> "ended while stopping (" + e.reason + (e.message != null ? ": " + e.message : "") + ")";
            };
            set(e, "Stopped", run.stop().reason() + "; " + how);
        }
        return e;
    }

    private static void set(VirtualMachineStatus.Exit e, String reason, String message) {
        e.reason = reason;
        e.message = message;
    }

    private static String signalName(int sig) {
        return switch (sig) {
            case 9 -> " (SIGKILL)";
            case 15 -> " (SIGTERM)";
            case 11 -> " (SIGSEGV)";
            case 6 -> " (SIGABRT)";
            case 2 -> " (SIGINT)";
            case 1 -> " (SIGHUP)";
            default -> "";
        };
    }
}
