package dev.apiary.agent.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Starts VMM processes with a {@link VmmLauncher} (its own session, or a host systemd service) so that they outlive
 * the agent, and watches them,
 * whether started by this agent or adopted from a runtime directory after a restart. Calls {@code changed} whenever
 * one ends.
 */
public final class VmmProcesses {
    private static final Logger LOG = Logger.getLogger(VmmProcesses.class);
    private final List<String> vmmCommand;
    private final VmmLauncher launcher;
    private final Path imageRoot;
    private final Runnable changed;
    /** pid → the directory it serves, for processes this agent watches. */
    private final Map<Long, Path> watched = new ConcurrentHashMap<>();
    /** Children that exited but whose exit status is not recorded yet: still "alive" until it is. */
    private final Map<Long, Path> unreaped = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public VmmProcesses(List<String> vmmCommand, Path imageRoot, Runnable changed) {
        this(vmmCommand, new VmmLauncher.Setsid(), imageRoot, changed);
    }

    public VmmProcesses(List<String> vmmCommand, VmmLauncher launcher, Path imageRoot, Runnable changed) {
        this.vmmCommand = List.copyOf(vmmCommand);
        this.launcher = launcher;
        this.imageRoot = imageRoot;
        this.changed = changed;
    }

    /** Starts {@code vmm launch} for a prepared directory; returns its pid (also recorded in agent.json). */
    public long launch(RunDir dir, RunIdentity id) throws IOException {
        List<String> vmm = new ArrayList<>(vmmCommand);
        vmm.addAll(List.of("launch", "--runtime-dir", dir.path().toAbsolutePath().toString(),
                "--image-root", imageRoot.toAbsolutePath().toString()));
        List<String> cmd = launcher.command(dir, vmm);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.path().toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.file(RunDir.VMM_LOG).toFile()))
                .redirectErrorStream(true);
        Process p = pb.start();
        long pid = p.pid();
        dir.write(RunDir.AGENT, id.withPid(pid));
        watched.put(pid, dir.path());
        unreaped.put(pid, dir.path());
        p.onExit().thenAccept(done -> {
            try {
                if (!closed && Files.isDirectory(dir.path())) {
                    dir.write(RunDir.REAPED, new ReapedExit(done.exitValue(), Instant.now().toString()));
                }
            } catch (IOException e) {
                LOG.warnf("cannot record the exit of VMM %d in %s: %s", pid, dir.path(), e.getMessage());
            } finally {
                unreaped.remove(pid);
                watched.remove(pid);
            }
            if (!closed) changed.run();
        });
        LOG.infof("launched VMM (%s) pid %d for %s run %d in %s", launcher.name(), pid, id.key(), id.runId(),
                dir.path());
        return pid;
    }

    /** Looks at a directory now. A process found alive that nobody watches yet is adopted. */
    public LocalRun observe(RunDir dir) {
        RunIdentity id = dir.identity();
        if (id == null) return null;
        Long pid = dir.pid();
        // A child of ours counts as alive until its exit status is on disk, so that the end is reported with it.
        // The child is the VMM itself (setsid) or waits for it (host-systemd: vmm.pid names the VMM, not the child).
        boolean alive = pid != null && (isVmmOf(pid, dir.path()) || unreaped.containsValue(dir.path()));
        if (alive && !watched.containsKey(pid)) adopt(pid, dir);
        VmmExit exit = alive ? null : dir.exit();
        return new LocalRun(dir, id, pid, alive, dir.state(), exit, alive ? null : dir.reaped(), dir.stopRequest(),
                alive ? null : dir.lastLogLine());
    }

    private void adopt(long pid, RunDir dir) {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty()) return;
        watched.put(pid, dir.path());
        LOG.infof("adopted VMM pid %d in %s", pid, dir.path());
        h.get().onExit().thenRun(() -> {
            watched.remove(pid);
            if (!closed) changed.run();
        });
    }

    /** SIGKILL, the last resort after the control socket's stop. */
    public void kill(long pid, Path dir) {
        if (!isVmmOf(pid, dir)) return;
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** Whether pid lives and is the VMM of dir: its command line names the directory (guards against pid reuse). */
    static boolean isVmmOf(long pid, Path dir) {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty() || !h.get().isAlive()) return false;
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            String cmdline = new String(raw, StandardCharsets.UTF_8).replace('\0', ' ');
            if (cmdline.isEmpty()) return false; // a zombie: exited, not yet reaped
            return cmdline.contains(dir.toAbsolutePath().toString());
        } catch (IOException e) {
            return false;
        }
    }

    /** Stops calling back (the agent is shutting down; the processes themselves keep running). */
    public void close() {
        closed = true;
    }
}
