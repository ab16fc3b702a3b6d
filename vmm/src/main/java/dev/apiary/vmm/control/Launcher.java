package dev.apiary.vmm.control;

import dev.apiary.crds.ManifestException;
import dev.apiary.crds.Manifests;
import dev.apiary.vmm.boot.BootImageException;
import dev.apiary.vmm.cli.SerialSocket;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.display.InputSink;
import dev.apiary.vmm.display.Png;
import dev.apiary.vmm.display.VncServer;
import dev.apiary.vmm.os.NativeException;
import dev.apiary.vmm.machine.Machine;
import dev.apiary.vmm.machine.MachineConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code vmm launch --runtime-dir DIR}: the VMM as the agent runs it — spec from {@code DIR/spec.json},
 * everything it reports in files and sockets in {@code DIR} (docs/vmm-process.md).
 */
public final class Launcher {
    public static final long DEFAULT_HISTORY = 1L << 20;

    private final RuntimeDir dir;
    private final Path imageRoot;
    private final PrintStream err;
    private final Instant processStart = ProcessHandle.current().info().startInstant().orElse(Instant.now());
    private volatile String phase = "Starting";
    private volatile Long bootMillis;
    private volatile Machine machine;
    private MachineConfig config;

    public Launcher(Path runtimeDir, Path imageRoot, PrintStream err) {
        this.dir = new RuntimeDir(runtimeDir);
        this.imageRoot = imageRoot != null ? imageRoot : runtimeDir;
        this.err = err;
    }

    /** Runs the VM to its end; returns the process exit status. */
    public int run() {
        Manifests.VmManifest vm;
        try {
            vm = Manifests.readVm(dir.spec());
            config = MachineConfig.from(vm, imageRoot, MachineConfig.hostMemoryBytes(), true);
            if (config.firmware() != null) {
                config = config.withFirmware(config.firmware().withVarsStore(dir.uefiVars()));
            }
        } catch (ManifestException e) {
            return badInput(dir.spec().getFileName() + ": " + e.getMessage());
        }
        long history = DEFAULT_HISTORY;
        try {
            if (vm.spec().serial != null && vm.spec().serial.historyBytes != null) {
                history = Manifests.bytes(vm.spec().serial.historyBytes, "spec.serial.historyBytes");
            }
        } catch (ManifestException e) {
            return badInput(e.getMessage());
        }
        RuntimeDir.writeAtomically(dir.pidFile(), (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII));
        writeState();
        Machine m;
        try {
            m = Machine.create(config);
        } catch (BootImageException e) {
            return badInput(e.getMessage());
        } catch (NativeException e) {
            return badInput("cannot create the VM: " + e.getMessage());
        }
        machine = m;
        if (m.acceleratorNote() != null) {
            err.println("vmm: " + m.acceleratorNote());
        }
        CountDownLatch finished = new CountDownLatch(1);
        Thread onSignal = new Thread(() -> {
            m.stop("signal");
            try {
                finished.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(onSignal);
        GuestStop stop;
        try (m; SerialHistory serial = new SerialHistory(dir, history);
             SerialSocket socket = new SerialSocket(dir.serialSocket(), m.serialConsole()::input);
             VncServer vnc = vncServer(m);
             ControlServer control = new ControlServer(dir.controlSocket(), actions(m))) {
            m.serialConsole().addListener(serial);
            m.serialConsole().addListener(socket::write);
            watchFirstByte(serial);
            phase = "Running";
            writeState();
            stop = m.run();
            phase = "Stopping";
            writeState();
        } catch (IOException e) {
            stop = new GuestStop.HostError("runtime directory: " + e.getMessage());
        }
        int code = dev.apiary.vmm.cli.Main.exitStatus(stop, err);
        writeExit(code, stop.getClass().getSimpleName(), stop.describe());
        finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(onSignal);
        } catch (IllegalStateException e) {
            // shutting down already
        }
        return code;
    }

    /**
     * With {@code display.vnc: true}, VNC on {@code DIR/vnc.sock}: no VNC password there, since the socket is
     * reachable only by the runtime directory's owner (the agent, which authenticates and authorizes every viewer).
     */
    private VncServer vncServer(Machine m) throws IOException {
        if (config.display() == null || !config.display().vnc()) {
            return null;
        }
        return VncServer.onUnixSocket(dir.vncSocket(), m.chipset().framebuffer().orElseThrow(),
                InputSink.ps2(m.chipset().keyboardController()), config.name(), null);
    }

    private ControlServer.Actions actions(Machine m) {
        return new ControlServer.Actions() {
            public Object state() {
                return stateObject();
            }

            public void shutdown() {
                m.pressPowerButton();
            }

            public void stop() {
                m.stop("control API");
            }

            public void reset() {
                m.hardReset();
            }

            public void nmi() {
                m.nmi();
            }

            public boolean pause() {
                boolean done = m.pause();
                if (done) {
                    phase = "Paused";
                    writeState();
                }
                return done;
            }

            public boolean resume() {
                boolean done = m.resume();
                if (done) {
                    phase = "Running";
                    writeState();
                }
                return done;
            }

            public byte[] screenshot() {
                return m.chipset().framebuffer().map(fb -> Png.encode(fb.capture())).orElse(null);
            }
        };
    }

    private void watchFirstByte(SerialHistory serial) {
        Thread t = new Thread(() -> {
            try {
                while (serial.firstByteNanos() == 0) {
                    Thread.sleep(2);
                }
                long sinceFirstByte = (System.nanoTime() - serial.firstByteNanos()) / 1_000_000;
                long sinceStart = dev.apiary.vmm.machine.ProcessClock.millisSinceStart();
                bootMillis = sinceStart < 0 ? null : sinceStart - sinceFirstByte;
                writeState();
            } catch (InterruptedException e) {
                // VM ended
            }
        }, "boot-timer");
        t.setDaemon(true);
        t.start();
    }

    private synchronized void writeState() {
        RuntimeDir.writeJson(dir.stateFile(), stateObject());
    }

    private Map<String, Object> stateObject() {
        Machine m = machine;
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("phase", phase);
        s.put("pid", ProcessHandle.current().pid());
        s.put("startedAt", processStart.toString());
        s.put("bootMillis", bootMillis);
        s.put("boots", m == null ? 0 : m.boots());
        s.put("vcpus", config == null ? null : config.cpus());
        s.put("memoryBytes", config == null ? null : config.memoryBytes());
        s.put("devices", m == null ? List.of() : m.inventory().stream().map(d -> d.name()).toList());
        s.put("fullGuests", m == null ? null : m.fullGuests());
        s.put("accelerator", m == null ? null : m.accelerator());
        if (config != null && config.display() != null) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("width", config.display().width());
            d.put("height", config.display().height());
            d.put("vnc", config.display().vnc());
            s.put("display", d);
        }
        return s;
    }

    private int badInput(String message) {
        err.println("vmm: " + message);
        writeExit(dev.apiary.vmm.cli.Main.EXIT_BAD_INPUT, "BadInput", message);
        return dev.apiary.vmm.cli.Main.EXIT_BAD_INPUT;
    }

    private void writeExit(int code, String reason, String message) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("code", code);
        e.put("reason", reason);
        e.put("message", message);
        e.put("at", Instant.now().toString());
        try {
            RuntimeDir.writeJson(dir.exitFile(), e);
        } catch (RuntimeException ex) {
            err.println("vmm: cannot write " + dir.exitFile() + ": " + ex.getMessage());
        }
    }
}
