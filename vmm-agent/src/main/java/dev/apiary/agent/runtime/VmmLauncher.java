package dev.apiary.agent.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How the agent starts one VMM process (docs/agent.md, "Process model"). Both strategies start a process the agent
 * waits for, whose exit status is the VMM's, and whose command line names the runtime directory (so
 * {@link VmmProcesses} recognises it after a restart); they differ in where the VMM lives.
 */
public sealed interface VmmLauncher permits VmmLauncher.Setsid, VmmLauncher.HostSystemd {

    /** The command that runs {@code vmm} (the VMM's command line, ending in {@code launch --runtime-dir DIR …}). */
    List<String> command(RunDir dir, List<String> vmm);

    /** The setting's name: {@code setsid} or {@code host-systemd}. */
    String name();

    /**
     * The VMM as the agent's child in its own session: it outlives the agent's process (a SIGKILLed or upgraded
     * agent JVM), but not the agent's container, whose restart kills every process in its cgroup and PID namespace.
     * The default, for tests and for an agent run outside a container.
     */
    record Setsid() implements VmmLauncher {
        @Override
        public List<String> command(RunDir dir, List<String> vmm) {
            List<String> cmd = new ArrayList<>();
            if (Files.isExecutable(Path.of("/usr/bin/setsid")) || Files.isExecutable(Path.of("/bin/setsid"))) {
                // Not a process-group leader (the JVM is), so setsid execs in place: the pid stays the VMM's.
                cmd.add("setsid");
            }
            cmd.addAll(vmm);
            return cmd;
        }

        @Override
        public String name() {
            return "setsid";
        }
    }

    /**
     * The VMM as a transient systemd service of the host, {@code apiary-vm-<uid>.service} in {@code apiary.slice}:
     * outside the agent container's cgroup and PID namespace, so restarting or upgrading the agent's container
     * leaves it running. The agent reaches the host's systemd as KubeVirt's handler reaches the host: {@code nsenter}
     * into PID 1's mount namespace (the DaemonSet runs with hostPID and privileged), then {@code systemd-run}.
     * {@code --wait} keeps systemd-run running while the service runs and makes its exit status the VMM's; when the
     * agent's container dies, systemd-run dies with it and the service does not.
     *
     * @param hostRoot the VMM's root file system on the host (the image's runtime, copied there by
     *                 {@code stage-host-root}); null: the host's own root, which must then carry the JRE and vmm
     * @param binds    host directories the VMM needs inside {@code hostRoot}: the runtime and image roots
     */
    record HostSystemd(Path hostRoot, List<Path> binds) implements VmmLauncher {
        public HostSystemd {
            binds = List.copyOf(binds);
        }

        /** The unit that runs dir's VMM. */
        public static String unit(RunDir dir) {
            return "apiary-vm-" + dir.uid() + ".service";
        }

        @Override
        public List<String> command(RunDir dir, List<String> vmm) {
            String d = dir.path().toAbsolutePath().toString();
            List<String> cmd = new ArrayList<>(List.of("nsenter", "--target", "1", "--mount", "--",
                    "systemd-run", "--quiet", "--wait", "--collect", "--service-type=exec",
                    "--unit=" + unit(dir), "--slice=apiary.slice",
                    "--description=Apiary VMM " + dir.uid(),
                    "--working-directory=" + d,
                    // The VMM logs to the same file as under setsid; opened by systemd on the host (same path: a
                    // hostPath), appended so that a previous agent's lines stay.
                    "--property=StandardInput=null",
                    "--property=StandardOutput=append:" + d + "/" + RunDir.VMM_LOG,
                    "--property=StandardError=append:" + d + "/" + RunDir.VMM_LOG,
                    // systemctl stop: SIGTERM to the VMM (its shutdown hook ends the guest), SIGKILL to what is left;
                    // the agent's own stop sequence (power button, hard stop, SIGKILL) comes first anyway.
                    "--property=KillMode=mixed",
                    "--property=TimeoutStopSec=30s",
                    // Never restarted by systemd: the operator decides about the next run.
                    "--property=Restart=no"));
            if (hostRoot != null) {
                cmd.add("--property=RootDirectory=" + hostRoot.toAbsolutePath());
                cmd.add("--property=MountAPIVFS=yes");
                // MountAPIVFS gives it /proc, /sys and the host's /dev (no PrivateDevices: /dev/kvm, /dev/net/tun).
                for (Path b : binds) cmd.add("--property=BindPaths=" + b.toAbsolutePath());
            }
            cmd.add("--");
            cmd.addAll(vmm);
            return cmd;
        }

        @Override
        public String name() {
            return "host-systemd";
        }
    }

    /** The launcher a setting names ({@code setsid}, the default, or {@code host-systemd}). */
    static VmmLauncher of(String name, Path hostRoot, List<Path> binds) {
        return switch (name == null ? "setsid" : name.strip()) {
            case "", "setsid" -> new Setsid();
            case "host-systemd" -> new HostSystemd(hostRoot, binds);
            default -> throw new IllegalArgumentException(
                    "apiary.agent.launcher: unknown launcher '" + name + "' (setsid or host-systemd)");
        };
    }
}
