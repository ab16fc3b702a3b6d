package dev.apiary.vmm.cli;

import dev.apiary.crds.ManifestException;
import dev.apiary.crds.Manifests;
import dev.apiary.crds.SpecValidation;
import dev.apiary.vmm.boot.BootImageException;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.accel.kvm.HostProbe;
import dev.apiary.vmm.accel.kvm.Kvm;
import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.vmm.accel.emu.EmulatedAccelerator;
import dev.apiary.vmm.os.NativeException;
import dev.apiary.vmm.machine.Machine;
import dev.apiary.vmm.machine.MachineConfig;
import dev.apiary.vmm.display.InputSink;
import dev.apiary.vmm.display.VncServer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code vmm} command. Exit status: 0 the guest powered off (or the user quit), 1 the guest crashed or
 * KVM failed, 2 bad input (manifest, image, options) or a host that cannot run VMs, 3 a VMM bug.
 */
public final class Main {
    public static final int EXIT_OK = 0;
    public static final int EXIT_GUEST_FAILED = 1;
    public static final int EXIT_BAD_INPUT = 2;
    public static final int EXIT_VMM_ERROR = 3;

    private static final String USAGE = """
            usage: vmm run FILE.yaml [--accel auto|kvm|emulated] [--serial-socket PATH] [--vnc HOST:PORT
                           [--vnc-password-file FILE]] [--uefi-vars FILE] [--tap-fd NETWORK=FD]... [--verbose]
                   vmm launch --runtime-dir DIR [--image-root ROOT]
                   vmm doctor [--json]
            run      boot the VirtualMachine manifest FILE on this host, COM1 on the terminal
                     (Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A)
                     --accel A             what runs the guest: auto (KVM where usable, else the software
                                           CPU), kvm or emulated; overrides spec.accelerator
                     --serial-socket PATH  also expose COM1 as a Unix socket (raw, for kernel debuggers)
                     --vnc HOST:PORT       serve the screen over VNC (RFB) there, e.g. 127.0.0.1:5900; gives the
                                           VM a display (spec.display, default 1024x768) if it has none
                     --vnc-password-file F VNC Authentication with the first line of F (else no password)
                     --uefi-vars FILE      with boot.firmware: keep the VM's UEFI variables in FILE (a copy of
                                           the template is made there when it does not exist); without it they
                                           live in memory and start from the template at every run
                     --tap-fd NETWORK=FD   network NETWORK (backend tap, one queue pair) uses the open TAP
                                           descriptor FD this process inherited (TUNSETIFF done by the parent)
                     --verbose             report boot timing and exits on stderr
            launch   run the VM described by DIR/spec.json as the vmm-agent does, reporting through files
                     and sockets in DIR (docs/vmm-process.md)
            doctor   say what this host can run and why""";

    private Main() {}

    public static void main(String[] args) {
        // Load the native-call layer (jffi's library) while the manifest is read: ~50 ms off the start-up.
        Thread warm = new Thread(() -> {
            try {
                dev.apiary.vmm.os.Native.libc();
            } catch (Throwable t) {
                // reported when first used
            }
        }, "warm-up");
        warm.setDaemon(true);
        warm.start();
        configureLogging(args.length > 0 && !args[0].equals("run") || List.of(args).contains("--verbose"));
        System.exit(run(args, System.err));
    }

    /**
     * One line per log record on stderr. Under {@code run} the terminal is the guest's console, so only
     * warnings are shown unless --verbose; {@code launch} logs everything (the agent keeps it in vmm.log).
     */
    private static void configureLogging(boolean verbose) {
        System.setProperty("java.util.logging.SimpleFormatter.format", "vmm: %4$s: %5$s%6$s%n");
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.setLevel(verbose ? java.util.logging.Level.INFO : java.util.logging.Level.WARNING);
        for (java.util.logging.Handler h : root.getHandlers()) {
            h.setLevel(root.getLevel());
            h.setFormatter(new java.util.logging.SimpleFormatter());
        }
    }

    static int run(String[] args, PrintStream err) {
        if (args.length == 0) {
            err.println(USAGE);
            return EXIT_BAD_INPUT;
        }
        try {
            switch (args[0]) {
                case "run":
                    return runVm(List.of(args).subList(1, args.length), err);
                case "doctor":
                    return doctor(System.out, List.of(args).contains("--json"));
                case "launch":
                    return launch(List.of(args).subList(1, args.length), err);
                case "-h":
                case "--help":
                case "help":
                    System.out.println(USAGE);
                    return EXIT_OK;
                default:
                    err.println("vmm: unknown command '" + args[0] + "'\n" + USAGE);
                    return EXIT_BAD_INPUT;
            }
        } catch (RuntimeException e) {
            err.println("vmm: internal error: " + e);
            e.printStackTrace(err);
            return EXIT_VMM_ERROR;
        }
    }

    private static int launch(List<String> args, PrintStream err) {
        Path runtimeDir = null;
        Path imageRoot = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if ((a.equals("--runtime-dir") || a.equals("--image-root")) && i + 1 < args.size()) {
                Path p = Path.of(args.get(++i)).toAbsolutePath();
                if (a.equals("--runtime-dir")) {
                    runtimeDir = p;
                } else {
                    imageRoot = p;
                }
            } else {
                err.println("vmm: launch: unknown or incomplete option " + a + "\n" + USAGE);
                return EXIT_BAD_INPUT;
            }
        }
        if (runtimeDir == null) {
            err.println("vmm: launch needs --runtime-dir DIR\n" + USAGE);
            return EXIT_BAD_INPUT;
        }
        return new dev.apiary.vmm.control.Launcher(runtimeDir, imageRoot, err).run();
    }

    private static int runVm(List<String> args, PrintStream err) {
        Path manifest = null;
        Path serialSocket = null;
        Accelerator accel = null;
        boolean verbose = false;
        java.net.InetSocketAddress vnc = null;
        Path vncPasswordFile = null;
        Path uefiVars = null;
        java.util.Map<String, Integer> tapFds = new java.util.LinkedHashMap<>();
        List<String> rest = new ArrayList<>(args);
        while (!rest.isEmpty()) {
            String a = rest.remove(0);
            if (a.equals("--serial-socket")) {
                if (rest.isEmpty()) {
                    err.println("vmm: --serial-socket needs a path");
                    return EXIT_BAD_INPUT;
                }
                serialSocket = Path.of(rest.remove(0));
            } else if (a.equals("--accel")) {
                accel = rest.isEmpty() ? null : parseAccelerator(rest.remove(0));
                if (accel == null) {
                    err.println("vmm: --accel needs one of auto, kvm, emulated");
                    return EXIT_BAD_INPUT;
                }
            } else if (a.equals("--vnc")) {
                vnc = rest.isEmpty() ? null : VncServer.parseAddress(rest.remove(0));
                if (vnc == null) {
                    err.println("vmm: --vnc needs HOST:PORT, e.g. 127.0.0.1:5900");
                    return EXIT_BAD_INPUT;
                }
            } else if (a.equals("--vnc-password-file")) {
                if (rest.isEmpty()) {
                    err.println("vmm: --vnc-password-file needs a file");
                    return EXIT_BAD_INPUT;
                }
                vncPasswordFile = Path.of(rest.remove(0));
            } else if (a.equals("--uefi-vars")) {
                if (rest.isEmpty()) {
                    err.println("vmm: --uefi-vars needs a file");
                    return EXIT_BAD_INPUT;
                }
                uefiVars = Path.of(rest.remove(0));
            } else if (a.equals("--tap-fd")) {
                String v = rest.isEmpty() ? "" : rest.remove(0);
                int eq = v.indexOf('=');
                Integer fd = null;
                try {
                    fd = eq > 0 ? Integer.valueOf(v.substring(eq + 1)) : null;
                } catch (NumberFormatException e) {
                    // reported below
                }
                if (fd == null || fd < 3) {
                    err.println("vmm: --tap-fd needs NETWORK=FD with an inherited descriptor (3 or more), got '" + v + "'");
                    return EXIT_BAD_INPUT;
                }
                tapFds.put(v.substring(0, eq), fd);
            } else if (a.equals("--verbose") || a.equals("-v")) {
                verbose = true;
            } else if (a.startsWith("-")) {
                err.println("vmm: unknown option " + a + "\n" + USAGE);
                return EXIT_BAD_INPUT;
            } else if (manifest == null) {
                manifest = Path.of(a);
            } else {
                err.println("vmm: one manifest at a time (got " + manifest + " and " + a + ")");
                return EXIT_BAD_INPUT;
            }
        }
        if (manifest == null) {
            err.println("vmm: run needs a manifest file\n" + USAGE);
            return EXIT_BAD_INPUT;
        }
        if (vncPasswordFile != null && vnc == null) {
            err.println("vmm: --vnc-password-file needs --vnc");
            return EXIT_BAD_INPUT;
        }
        String vncPassword = null;
        if (vncPasswordFile != null) {
            try {
                vncPassword = VncServer.readPasswordFile(vncPasswordFile);
            } catch (IOException e) {
                err.println("vmm: --vnc-password-file: " + e.getMessage());
                return EXIT_BAD_INPUT;
            }
        }
        long tMain = System.nanoTime();
        MachineConfig config;
        try {
            Manifests.VmManifest vm = Manifests.readVm(manifest);
            // The CRD's rules, as the API server and the operator apply them (less the two a workstation has no use
            // for: cpus/memory may be left out, image paths are host files): each refusal on its own line.
            List<ManifestException> problems = SpecValidation.problems(vm.spec(), SpecValidation.Scope.LOCAL);
            if (!problems.isEmpty()) {
                for (ManifestException p : problems) err.println("vmm: " + manifest + ": " + p.getMessage());
                return EXIT_BAD_INPUT;
            }
            Path base = manifest.toAbsolutePath().getParent();
            config = MachineConfig.from(vm, base, MachineConfig.hostMemoryBytes());
        } catch (ManifestException e) {
            err.println("vmm: " + manifest + ": " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        if (accel != null) {
            config = config.withAccelerator(accel);
        }
        if (uefiVars != null) {
            if (config.firmware() == null) {
                err.println("vmm: --uefi-vars needs a manifest with spec.boot.firmware");
                return EXIT_BAD_INPUT;
            }
            config = config.withFirmware(config.firmware().withVarsStore(uefiVars.toAbsolutePath()));
        }
        if (!tapFds.isEmpty()) {
            List<MachineConfig.Network> nets = new ArrayList<>();
            for (MachineConfig.Network n : config.networks()) {
                Integer fd = tapFds.remove(n.name());
                if (fd != null && (n.backend() != MachineConfig.NetBackendKind.TAP || n.queues() != 1)) {
                    err.println("vmm: --tap-fd " + n.name() + ": only for a tap network with one queue pair");
                    return EXIT_BAD_INPUT;
                }
                nets.add(fd == null ? n : n.withTapFd(fd));
            }
            if (!tapFds.isEmpty()) {
                err.println("vmm: --tap-fd: no network named " + tapFds.keySet().iterator().next() + " in " + manifest);
                return EXIT_BAD_INPUT;
            }
            config = config.withNetworks(nets);
        }
        if (vnc != null && config.display() == null) {
            config = config.withDisplay(MachineConfig.Display.defaults());
        }
        long tManifest = System.nanoTime();
        Machine machine;
        try {
            machine = Machine.create(config);
        } catch (BootImageException e) {
            err.println("vmm: " + e.getMessage());
            return EXIT_BAD_INPUT;
        } catch (NativeException e) {
            err.println("vmm: cannot create the VM: " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        if (machine.acceleratorNote() != null) {
            err.println("vmm: " + machine.acceleratorNote());
        }
        VncServer vncServer = null;
        if (vnc != null) {
            try {
                vncServer = new VncServer(vnc, machine.chipset().framebuffer().orElseThrow(),
                        InputSink.ps2(machine.chipset().keyboardController()), config.name(), vncPassword);
                err.println("vmm: VNC on " + vnc.getHostString() + ":" + vncServer.address().getPort()
                        + (vncPassword == null ? " (no password)" : " (VNC Authentication)"));
            } catch (IOException e) {
                machine.close();
                err.println("vmm: --vnc " + vnc.getHostString() + ":" + vnc.getPort() + ": " + e.getMessage());
                return EXIT_BAD_INPUT;
            }
        }
        try (machine; VncServer vncClose = vncServer;
             TerminalConsole console = TerminalConsole.attach(machine, System.in, System.out, err);
             SerialSocket socket = serialSocket == null ? null
                     : new SerialSocket(serialSocket, machine.serialConsole()::input)) {
            if (socket != null) {
                machine.serialConsole().addListener(socket::write);
            }
            long tBuilt = System.nanoTime();
            long[] firstByte = {0};
            long[] firstByteSinceStart = {0};
            machine.serialConsole().addListener((b, off, len) -> {
                if (firstByte[0] == 0) {
                    firstByte[0] = System.nanoTime();
                    firstByteSinceStart[0] = dev.apiary.vmm.machine.ProcessClock.millisSinceStart();
                }
            });
            GuestStop stop = machine.run();
            console.close();
            if (verbose) {
                err.printf("vmm: %s; first guest byte %d ms after process start (manifest %.0f ms, machine built "
                                + "%.0f ms, then %.0f ms to the guest's first byte), %d boot(s)%n", stop.describe(),
                        firstByteSinceStart[0], (tManifest - tMain) / 1e6, (tBuilt - tManifest) / 1e6,
                        firstByte[0] == 0 ? 0 : (firstByte[0] - tBuilt) / 1e6, machine.boots());
            }
            return exitStatus(stop, err);
        } catch (IOException e) {
            err.println("vmm: " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
    }

    public static int exitStatus(GuestStop stop, PrintStream err) {
        if (stop instanceof GuestStop.PowerOff || stop instanceof GuestStop.Stopped) {
            return EXIT_OK;
        }
        err.println("vmm: " + stop.describe());
        if (stop instanceof GuestStop.HostError) {
            return EXIT_VMM_ERROR;
        }
        return EXIT_GUEST_FAILED;
    }

    /** {@code --accel} values, as users type them; null for anything else. */
    static Accelerator parseAccelerator(String v) {
        switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "auto": return Accelerator.Auto;
            case "kvm": return Accelerator.KVM;
            case "emulated": return Accelerator.Emulated;
            default: return null;
        }
    }

    /** One accelerator's verdict on this host. */
    record AcceleratorVerdict(String name, boolean available, boolean fullGuests, String reason) {}

    /** What {@code vmm doctor} found: printed for people, or as JSON ({@code --json}) for the agent. */
    record Doctor(boolean kvmPresent, boolean kvmUsable, Integer apiVersion, Integer maxVcpus, long hostMemoryBytes,
            Boolean fullGuests, String reason, Double cpl0InstructionsPerSecond, List<AcceleratorVerdict> accelerators) {
        /** The software CPU runs everywhere, full guests included (Debian's kernel, OVMF), much slower than KVM. */
        static final AcceleratorVerdict EMULATED = new AcceleratorVerdict(EmulatedAccelerator.NAME, true, true,
                "software x86-64 CPU (integer, x87, SSE2; boots Debian's kernel and OVMF, much slower than KVM)");

        static Doctor examine() {
            long mem = MachineConfig.hostMemoryBytes();
            String noKvm = Kvm.unavailableReason();
            if (noKvm != null) {
                return new Doctor(false, false, null, null, mem, false, noKvm, null,
                        List.of(new AcceleratorVerdict("KVM", false, false, noKvm), EMULATED));
            }
            int maxVcpus;
            try (Kvm kvm = Kvm.open()) {
                maxVcpus = kvm.maxVcpus();
            } catch (NativeException e) {
                String why = "KVM unusable: " + e.getMessage();
                return new Doctor(true, false, null, null, mem, false, why, null,
                        List.of(new AcceleratorVerdict("KVM", false, false, why), EMULATED));
            }
            HostProbe.Result r = HostProbe.run();
            return new Doctor(true, r.kvmUsable(), 12, maxVcpus, mem, r.fullGuests(), r.reason(),
                    r.cpl0InstructionsPerSecond(),
                    List.of(new AcceleratorVerdict("KVM", r.kvmUsable(), r.fullGuests(), r.reason()), EMULATED));
        }
    }

    static int doctor(PrintStream out, boolean json) {
        Doctor d = Doctor.examine();
        if (json) {
            try {
                out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(d));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            return EXIT_OK; // the software CPU is always there
        }
        out.println("vmm doctor");
        out.println("  Emulated:        available — " + Doctor.EMULATED.reason());
        out.println("  /dev/kvm:        " + (d.kvmPresent() ? "present" : "missing — " + d.reason()));
        if (!d.kvmPresent()) {
            out.println("  verdict:         VMs run on the software CPU (Emulated) only");
            return EXIT_OK;
        }
        if (d.apiVersion() == null) {
            out.println("  KVM:             unusable — " + d.reason());
            out.println("  verdict:         VMs run on the software CPU (Emulated) only");
            return EXIT_OK;
        }
        out.println("  KVM API:         " + d.apiVersion() + " (all capabilities the VMM needs are present)");
        out.println("  max vCPUs:       " + d.maxVcpus());
        out.println("  host RAM:        " + d.hostMemoryBytes() / (1L << 20) + " MiB");
        out.println("  probe:           " + d.reason());
        out.println("  full guests:     " + (Boolean.TRUE.equals(d.fullGuests())
                ? "yes — distribution kernels and UEFI firmware can boot"
                : "no — only guests that run their work in user mode (the Apiary guest kit) run at useful speed"));
        return EXIT_OK;
    }
}
