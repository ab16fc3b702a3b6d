package dev.apiary.vmm.cli;

import dev.apiary.crds.ManifestException;
import dev.apiary.crds.Manifests;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.vmm.boot.BootImageException;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.cpu.HostProbe;
import dev.apiary.vmm.kvm.Kvm;
import dev.apiary.vmm.kvm.KvmException;
import dev.apiary.vmm.machine.Machine;
import dev.apiary.vmm.machine.MachineConfig;
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
            usage: vmm run FILE.yaml [--serial-socket PATH] [--verbose]
                   vmm launch --runtime-dir DIR [--image-root ROOT]
                   vmm doctor
            run      boot the VirtualMachine manifest FILE on this host, COM1 on the terminal
                     (Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A)
                     --serial-socket PATH  also expose COM1 as a Unix socket (raw, for kernel debuggers)
                     --verbose             report boot timing and exits on stderr
            launch   run the VM described by DIR/spec.json as the vmm-agent does, reporting through files
                     and sockets in DIR (docs/vmm-process.md)
            doctor   say what this host can run and why""";

    private Main() {}

    public static void main(String[] args) {
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
                    return doctor(System.out);
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
        boolean verbose = false;
        List<String> rest = new ArrayList<>(args);
        while (!rest.isEmpty()) {
            String a = rest.remove(0);
            if (a.equals("--serial-socket")) {
                if (rest.isEmpty()) {
                    err.println("vmm: --serial-socket needs a path");
                    return EXIT_BAD_INPUT;
                }
                serialSocket = Path.of(rest.remove(0));
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
        long tMain = System.nanoTime();
        MachineConfig config;
        try {
            VirtualMachine vm = Manifests.read(manifest);
            Path base = manifest.toAbsolutePath().getParent();
            config = MachineConfig.from(vm, base, MachineConfig.hostMemoryBytes());
        } catch (ManifestException e) {
            err.println("vmm: " + manifest + ": " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        String noKvm = Kvm.unavailableReason();
        if (noKvm != null) {
            err.println("vmm: cannot run VMs on this host: " + noKvm);
            return EXIT_BAD_INPUT;
        }
        long tManifest = System.nanoTime();
        Machine machine;
        try {
            machine = Machine.create(config);
        } catch (BootImageException e) {
            err.println("vmm: " + e.getMessage());
            return EXIT_BAD_INPUT;
        } catch (KvmException e) {
            err.println("vmm: cannot create the VM: " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        try (machine; TerminalConsole console = TerminalConsole.attach(machine, System.in, System.out, err);
             SerialSocket socket = serialSocket == null ? null
                     : new SerialSocket(serialSocket, machine.serialConsole()::input)) {
            if (socket != null) {
                machine.serialConsole().addListener(socket::write);
            }
            long tBuilt = System.nanoTime();
            long[] firstByte = {0};
            machine.serialConsole().addListener((b, off, len) -> {
                if (firstByte[0] == 0) {
                    firstByte[0] = System.nanoTime();
                }
            });
            GuestStop stop = machine.run();
            console.close();
            if (verbose) {
                long jvmMillis = java.time.Duration.between(ProcessHandle.current().info().startInstant()
                        .orElse(java.time.Instant.now()), java.time.Instant.now()).toMillis()
                        - (System.nanoTime() - tMain) / 1_000_000;
                err.printf("vmm: %s; process start → main %d ms, manifest %.0f ms, machine built %.0f ms, "
                                + "first guest byte after %.0f ms more, %d boot(s)%n", stop.describe(), jvmMillis,
                        (tManifest - tMain) / 1e6, (tBuilt - tManifest) / 1e6,
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

    static int doctor(PrintStream out) {
        String noKvm = Kvm.unavailableReason();
        out.println("vmm doctor");
        out.println("  /dev/kvm:        " + (noKvm == null ? "present" : "missing — " + noKvm));
        if (noKvm != null) {
            out.println("  verdict:         this host cannot run VMs");
            return EXIT_BAD_INPUT;
        }
        try (Kvm kvm = Kvm.open()) {
            out.println("  KVM API:         12 (all capabilities the VMM needs are present)");
            out.println("  max vCPUs:       " + kvm.maxVcpus());
        } catch (KvmException e) {
            out.println("  KVM:             unusable — " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        out.println("  host RAM:        " + MachineConfig.hostMemoryBytes() / (1L << 20) + " MiB");
        HostProbe.Result r = HostProbe.run();
        out.println("  probe:           " + r.reason());
        out.println("  full guests:     " + (r.fullGuests() ? "yes — distribution kernels and UEFI firmware can boot"
                : "no — only guests that run their work in user mode (the Apiary guest kit) run at useful speed"));
        return EXIT_OK;
    }
}
