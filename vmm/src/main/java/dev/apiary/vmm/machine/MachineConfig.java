package dev.apiary.vmm.machine;

import dev.apiary.crds.ManifestException;
import dev.apiary.crds.Manifests;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineSpec;
import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.vmm.memory.MemoryLayout;
import dev.apiary.vmm.net.MacAddress;
import dev.apiary.vmm.net.PortForward;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What the VMM needs to build a machine, checked and resolved from a manifest: every problem is a
 * {@link ManifestException} naming the field, before anything is allocated.
 */
public record MachineConfig(String name, int cpus, long memoryBytes, Path kernel, Path initrd, String cmdline,
        VirtualMachineSpec.RebootPolicy rebootPolicy, List<Disk> disks, Accelerator accelerator, List<Network> networks,
        Display display, Firmware firmware) {
    /**
     * UEFI boot instead of a kernel: the firmware's code (OVMF_CODE*.fd), the template of its variable store
     * (OVMF_VARS*.fd) and this VM's own copy of it, created from the template when missing and written by the
     * guest; null keeps the guest's variables in memory only (a fresh copy of the template at every start).
     */
    public record Firmware(Path code, Path varsTemplate, Path varsStore) {
        /** The same firmware with its variables kept in {@code store}. */
        public Firmware withVarsStore(Path store) {
            return new Firmware(code, varsTemplate, store);
        }
    }

    public MachineConfig(String name, int cpus, long memoryBytes, Path kernel, Path initrd, String cmdline,
            VirtualMachineSpec.RebootPolicy rebootPolicy, List<Disk> disks, Accelerator accelerator,
            List<Network> networks, Display display) {
        this(name, cpus, memoryBytes, kernel, initrd, cmdline, rebootPolicy, disks, accelerator, networks, display,
                null);
    }

    /** A machine that boots UEFI firmware (no kernel). */
    public static MachineConfig uefi(String name, int cpus, long memoryBytes, Firmware firmware,
            VirtualMachineSpec.RebootPolicy rebootPolicy, List<Disk> disks) {
        return new MachineConfig(name, cpus, memoryBytes, null, null, "", rebootPolicy, disks, Accelerator.Auto,
                List.of(), null, firmware);
    }
    /**
     * A framebuffer (ramfb, configured by the guest through fw_cfg) of this size before the guest sets one,
     * 32 bits per pixel; {@code vnc}: the manifest asked for remote access to it.
     */
    public record Display(int width, int height, boolean vnc) {
        public static final int DEFAULT_WIDTH = 1024;
        public static final int DEFAULT_HEIGHT = 768;

        public static Display defaults() {
            return new Display(DEFAULT_WIDTH, DEFAULT_HEIGHT, true);
        }
    }

    /** Most NVMe controllers one VM can have (PCI slots 3 and up on bus 0). */
    public static final int MAX_DISKS = 16;

    /** A disk: one NVMe controller with one namespace backed by a raw image file. */
    public record Disk(String name, Path image, boolean readOnly, String serial, int blockSize) {
        public Disk(String name, Path image, boolean readOnly, String serial) {
            this(name, image, readOnly, serial, 512);
        }
    }

    /** Most network interfaces one VM can have (PCI slots 16 and up). */
    public static final int MAX_NETWORKS = 8;

    /** Where a network interface's frames go on the host. */
    public enum NetBackendKind { TAP, PASST }

    /**
     * A network interface: one virtio-net function with {@code queues} queue pairs. Backend TAP: {@code tapName}
     * null lets the kernel name a new TAP; {@code tapFd} ≥ 0 is a TAP descriptor the parent process handed over
     * (then the name is unused). Backend PASST: the VMM starts passt, which forwards {@code ports}.
     */
    public record Network(String name, MacAddress mac, NetBackendKind backend, String tapName, int tapFd, int queues,
            List<PortForward> ports) {
        public Network {
            ports = List.copyOf(ports);
        }

        /** A one-queue TAP interface. */
        public Network(String name, MacAddress mac, String tapName, int tapFd) {
            this(name, mac, NetBackendKind.TAP, tapName, tapFd, 1, List.of());
        }

        public Network withTapFd(int fd) {
            return new Network(name, mac, backend, tapName, fd, queues, ports);
        }

        public Network withQueues(int n) {
            return new Network(name, mac, backend, tapName, tapFd, n, ports);
        }

        /** A passt interface with one queue pair. */
        public static Network passt(String name, MacAddress mac, List<PortForward> ports) {
            return new Network(name, mac, NetBackendKind.PASST, null, -1, 1, ports);
        }
    }

    public MachineConfig(String name, int cpus, long memoryBytes, Path kernel, Path initrd, String cmdline,
            VirtualMachineSpec.RebootPolicy rebootPolicy, List<Disk> disks, Accelerator accelerator) {
        this(name, cpus, memoryBytes, kernel, initrd, cmdline, rebootPolicy, disks, accelerator, List.of(), null);
    }

    public MachineConfig(String name, int cpus, long memoryBytes, Path kernel, Path initrd, String cmdline,
            VirtualMachineSpec.RebootPolicy rebootPolicy) {
        this(name, cpus, memoryBytes, kernel, initrd, cmdline, rebootPolicy, List.of());
    }

    public MachineConfig(String name, int cpus, long memoryBytes, Path kernel, Path initrd, String cmdline,
            VirtualMachineSpec.RebootPolicy rebootPolicy, List<Disk> disks) {
        this(name, cpus, memoryBytes, kernel, initrd, cmdline, rebootPolicy, disks, Accelerator.Auto, List.of(), null);
    }

    /** The same machine on another accelerator ({@code vmm run --accel}, tests that run on each one). */
    public MachineConfig withAccelerator(Accelerator a) {
        return new MachineConfig(name, cpus, memoryBytes, kernel, initrd, cmdline, rebootPolicy, disks, a, networks,
                display, firmware);
    }

    /** The same machine with these network interfaces. */
    public MachineConfig withNetworks(List<Network> n) {
        return new MachineConfig(name, cpus, memoryBytes, kernel, initrd, cmdline, rebootPolicy, disks, accelerator,
                List.copyOf(n), display, firmware);
    }

    /** The same machine with a framebuffer ({@code vmm run --vnc}, tests); null removes it. */
    public MachineConfig withDisplay(Display d) {
        return new MachineConfig(name, cpus, memoryBytes, kernel, initrd, cmdline, rebootPolicy, disks, accelerator,
                networks, d, firmware);
    }

    /** The same machine booting this firmware (its variables kept where {@code f} says). */
    public MachineConfig withFirmware(Firmware f) {
        return new MachineConfig(name, cpus, memoryBytes, kernel, initrd, cmdline, rebootPolicy, disks, accelerator,
                networks, display, f);
    }

    public static final int MAX_CPUS = 64;
    public static final long MIN_MEMORY = 64L << 20;

    /**
     * @param baseDir relative image paths are resolved against it (the manifest's folder for {@code vmm run},
     *                the node's image root under the agent)
     * @param hostMemory bytes of RAM this host has; a guest may not ask for more
     */
    public static MachineConfig from(VirtualMachine vm, Path baseDir, long hostMemory) throws ManifestException {
        return from(Manifests.VmManifest.of(vm), baseDir, hostMemory, false);
    }

    public static MachineConfig from(VirtualMachine vm, Path baseDir, long hostMemory, boolean confined)
            throws ManifestException {
        return from(Manifests.VmManifest.of(vm), baseDir, hostMemory, confined);
    }

    public static MachineConfig from(Manifests.VmManifest vm, Path baseDir, long hostMemory) throws ManifestException {
        return from(vm, baseDir, hostMemory, false);
    }

    /**
     * @param confined image paths must stay inside {@code baseDir} (the agent's image root): absolute paths,
     *                 {@code ..} and symlinks that lead outside are refused
     */
    public static MachineConfig from(Manifests.VmManifest vm, Path baseDir, long hostMemory, boolean confined)
            throws ManifestException {
        VirtualMachineSpec spec = vm.spec();
        if (spec == null) {
            throw new ManifestException("spec", "is required");
        }
        String name = vm.name() != null ? vm.name() : "vm";
        int cpus = spec.cpus == null ? 1 : spec.cpus;
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new ManifestException("spec.cpus", "must be between 1 and " + MAX_CPUS + ", got " + cpus);
        }
        long memory = spec.memory == null ? 256L << 20 : Manifests.bytes(spec.memory, "spec.memory");
        if (memory < MIN_MEMORY) {
            throw new ManifestException("spec.memory", "must be at least 64Mi, got " + spec.memory);
        }
        if ((memory & 0xFFF) != 0) {
            throw new ManifestException("spec.memory", "must be a multiple of 4Ki, got " + spec.memory);
        }
        if (memory > MemoryLayout.MAX_RAM) {
            throw new ManifestException("spec.memory", spec.memory + " is more than the 1Ti this VMM supports");
        }
        if (hostMemory > 0 && memory > hostMemory) {
            throw new ManifestException("spec.memory", String.format(Locale.ROOT,
                    "%s is more than this host's %.1f GiB of RAM", spec.memory, hostMemory / (double) (1L << 30)));
        }
        if (spec.boot == null || (spec.boot.kernel == null && spec.boot.firmware == null)) {
            throw new ManifestException("spec.boot", "one of boot.kernel or boot.firmware is required");
        }
        if (spec.boot.kernel != null && spec.boot.firmware != null) {
            throw new ManifestException("spec.boot", "give either boot.kernel or boot.firmware, not both");
        }
        Path kernel = null;
        Path initrd = null;
        Firmware firmware = null;
        if (spec.boot.firmware != null) {
            firmware = firmware(spec.boot.firmware, baseDir, confined);
        } else {
            if (spec.boot.kernel.path == null || spec.boot.kernel.path.isBlank()) {
                throw new ManifestException("spec.boot.kernel.path", "is required");
            }
            kernel = imageFile(baseDir, spec.boot.kernel.path, "spec.boot.kernel.path", confined);
            initrd = spec.boot.kernel.initrd == null ? null
                    : imageFile(baseDir, spec.boot.kernel.initrd, "spec.boot.kernel.initrd", confined);
        }
        List<Disk> disks = new ArrayList<>();
        Set<String> diskNames = new HashSet<>();
        if (spec.disks.size() > MAX_DISKS) {
            throw new ManifestException("spec.disks", "at most " + MAX_DISKS + " disks, got " + spec.disks.size());
        }
        for (int i = 0; i < spec.disks.size(); i++) {
            VirtualMachineSpec.Disk d = spec.disks.get(i);
            String f = "spec.disks[" + i + "]";
            if (d.name == null || d.name.isBlank()) {
                throw new ManifestException(f + ".name", "is required");
            }
            if (!diskNames.add(d.name)) {
                throw new ManifestException(f + ".name", "'" + d.name + "' is used by another disk");
            }
            if (d.bus != null && d.bus != VirtualMachineSpec.DiskBus.nvme) {
                throw new ManifestException(f + ".bus", "only nvme is supported");
            }
            if (d.image == null || d.image.path == null || d.image.path.isBlank()) {
                throw new ManifestException(f + ".image.path", "is required");
            }
            Path image = imageFile(baseDir, d.image.path, f + ".image.path", confined);
            boolean readOnly = Boolean.TRUE.equals(d.readOnly);
            if (!readOnly && !Files.isWritable(image)) {
                throw new ManifestException(f + ".image.path", image + " is not writable (set readOnly: true to "
                        + "attach it read-only)");
            }
            int blockSize = d.blockSize == null ? 512 : d.blockSize;
            if (blockSize != 512 && blockSize != 4096) {
                throw new ManifestException(f + ".blockSize", "must be 512 or 4096, got " + blockSize);
            }
            try {
                if (Files.size(image) % blockSize != 0) {
                    throw new ManifestException(f + ".image.path", image + " is " + Files.size(image)
                            + " bytes, not a multiple of the " + blockSize + "-byte block size");
                }
            } catch (IOException e) {
                throw new ManifestException(f + ".image.path", "cannot read the size of " + image + ": " + e.getMessage());
            }
            disks.add(new Disk(d.name, image, readOnly, diskSerial(vm, d.name), blockSize));
        }
        List<Network> networks = networks(vm, spec, cpus);
        Display display = null;
        if (spec.display != null) {
            int w = spec.display.width == null ? Display.DEFAULT_WIDTH : spec.display.width;
            int h = spec.display.height == null ? Display.DEFAULT_HEIGHT : spec.display.height;
            checkDisplaySize("spec.display.width", w);
            checkDisplaySize("spec.display.height", h);
            display = new Display(w, h, Boolean.TRUE.equals(spec.display.vnc));
        }
        String cmdline = spec.boot.kernel == null || spec.boot.kernel.cmdline == null ? "" : spec.boot.kernel.cmdline;
        VirtualMachineSpec.RebootPolicy policy = spec.rebootPolicy == null ? VirtualMachineSpec.RebootPolicy.Reboot
                : spec.rebootPolicy;
        Accelerator accel = spec.accelerator == null ? Accelerator.Auto : spec.accelerator;
        return new MachineConfig(name, cpus, memory, kernel, initrd, cmdline, policy, List.copyOf(disks), accel,
                networks, display, firmware);
    }

    /**
     * The firmware's code and variable-store template. Without {@code vars}, the template is the file next to the
     * code whose name has VARS where the code's has CODE (Debian's ovmf: OVMF_CODE_4M.fd and OVMF_VARS_4M.fd).
     * The VM's own store is set by whoever runs it ({@link Firmware#withVarsStore}).
     */
    private static Firmware firmware(VirtualMachineSpec.FirmwareBoot fw, Path baseDir, boolean confined)
            throws ManifestException {
        if (fw.path == null || fw.path.isBlank()) {
            throw new ManifestException("spec.boot.firmware.path", "is required");
        }
        Path code = imageFile(baseDir, fw.path, "spec.boot.firmware.path", confined);
        String vars = fw.vars;
        if (vars == null) {
            String name = Path.of(fw.path).getFileName().toString();
            if (!name.contains("CODE")) {
                throw new ManifestException("spec.boot.firmware.vars", "is required: " + name + " has no CODE in its "
                        + "name to derive the variable store's (OVMF_CODE_4M.fd goes with OVMF_VARS_4M.fd)");
            }
            Path parent = Path.of(fw.path).getParent();
            String derived = name.replace("CODE", "VARS");
            vars = parent == null ? derived : parent.resolve(derived).toString();
        }
        Path template = imageFile(baseDir, vars, "spec.boot.firmware.vars", confined);
        return new Firmware(code, template, null);
    }

    private static List<Network> networks(Manifests.VmManifest vm, VirtualMachineSpec spec, int cpus)
            throws ManifestException {
        if (spec.networks.size() > MAX_NETWORKS) {
            throw new ManifestException("spec.networks", "at most " + MAX_NETWORKS + " networks, got " + spec.networks.size());
        }
        List<Network> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < spec.networks.size(); i++) {
            VirtualMachineSpec.Network n = spec.networks.get(i);
            String f = "spec.networks[" + i + "]";
            if (n == null || n.name == null || n.name.isBlank()) {
                throw new ManifestException(f + ".name", "is required");
            }
            if (!names.add(n.name)) {
                throw new ManifestException(f + ".name", "'" + n.name + "' is used by another network");
            }
            if (n.model != null && !n.model.equals("virtio")) {
                throw new ManifestException(f + ".model", "'" + n.model + "' is not supported; only virtio");
            }
            NetBackendKind backend;
            if (n.backend == null || n.backend.equals("tap")) {
                backend = NetBackendKind.TAP;
            } else if (n.backend.equals("passt")) {
                backend = NetBackendKind.PASST;
            } else {
                throw new ManifestException(f + ".backend", "'" + n.backend + "' is not supported by this VMM; tap or passt");
            }
            int queues = n.queues == null ? 1 : n.queues;
            if (queues < 1 || queues > Math.min(cpus, VirtualMachineSpec.MAX_QUEUES)) {
                throw new ManifestException(f + ".queues", "must be between 1 and the VM's " + cpus + " cpus (at most "
                        + VirtualMachineSpec.MAX_QUEUES + "), got " + queues);
            }
            if (backend == NetBackendKind.PASST && queues != 1) {
                throw new ManifestException(f + ".queues", "backend passt has one queue pair");
            }
            List<PortForward> ports = new ArrayList<>();
            if (n.ports != null && !n.ports.isEmpty()) {
                if (backend != NetBackendKind.PASST) {
                    throw new ManifestException(f + ".ports", "ports are forwarded only by backend passt");
                }
                for (int j = 0; j < n.ports.size(); j++) {
                    VirtualMachineSpec.Port p = n.ports.get(j);
                    String pf = f + ".ports[" + j + "]";
                    if (p == null || p.port == null || p.port < 1 || p.port > 65535) {
                        throw new ManifestException(pf + ".port", "a port from 1 to 65535 is required");
                    }
                    int guest = p.guestPort == null ? p.port : p.guestPort;
                    if (guest < 1 || guest > 65535) {
                        throw new ManifestException(pf + ".guestPort", "must be between 1 and 65535, got " + guest);
                    }
                    PortForward.Protocol proto;
                    if (p.protocol == null || p.protocol.equals("TCP")) {
                        proto = PortForward.Protocol.TCP;
                    } else if (p.protocol.equals("UDP")) {
                        proto = PortForward.Protocol.UDP;
                    } else {
                        throw new ManifestException(pf + ".protocol", "'" + p.protocol + "': TCP or UDP");
                    }
                    ports.add(new PortForward(proto, p.port, guest));
                }
            }
            if (n.tapName != null && !n.tapName.matches("[A-Za-z0-9_.-]{1,15}")) {
                throw new ManifestException(f + ".tapName", "not an interface name '" + n.tapName + "'");
            }
            MacAddress mac;
            if (n.macAddress != null) {
                try {
                    mac = MacAddress.parse(n.macAddress);
                } catch (IllegalArgumentException e) {
                    throw new ManifestException(f + ".macAddress", "not a MAC address '" + n.macAddress + "'");
                }
                if (mac.multicast()) {
                    throw new ManifestException(f + ".macAddress", n.macAddress + " is a multicast address");
                }
            } else {
                mac = MacAddress.derived(vmIdentity(vm), n.name);
            }
            out.add(new Network(n.name, mac, backend, backend == NetBackendKind.TAP ? n.tapName : null, -1, queues, ports));
        }
        return List.copyOf(out);
    }

    /** What stays the same for a VM across boots and nodes: its uid, else namespace/name. */
    static String vmIdentity(Manifests.VmManifest vm) {
        return vm.uid() != null ? vm.uid() : vm.namespace() + "/" + vm.name();
    }

    private static void checkDisplaySize(String field, int v) throws ManifestException {
        if (v < VirtualMachineSpec.Display.MIN_SIZE || v > VirtualMachineSpec.Display.MAX_SIZE) {
            throw new ManifestException(field, "must be between " + VirtualMachineSpec.Display.MIN_SIZE + " and "
                    + VirtualMachineSpec.Display.MAX_SIZE + ", got " + v);
        }
    }

    /**
     * A stable NVMe serial number (20 characters at most) for a disk: the same VM and disk name give the same
     * serial on every boot and every node, so guests that name disks by serial keep their names.
     */
    static String diskSerial(Manifests.VmManifest vm, String disk) {
        String id = vm.uid() != null ? vm.uid() : vm.namespace() + "/" + vm.name();
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256")
                    .digest((id + "\0" + disk).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder("APY");
            for (int i = 0; sb.length() < 20; i++) {
                sb.append(String.format("%02X", h[i]));
            }
            return sb.substring(0, 20);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path imageFile(Path baseDir, String path, String field, boolean confined) throws ManifestException {
        Path given;
        try {
            given = Path.of(path);
        } catch (java.nio.file.InvalidPathException e) {
            throw new ManifestException(field, "not a valid path: " + e.getReason());
        }
        if (confined) {
            if (given.isAbsolute()) {
                throw new ManifestException(field, "absolute paths are not allowed; image paths are relative to "
                        + "the node's image root");
            }
            for (Path part : given) {
                if (part.toString().equals("..")) {
                    throw new ManifestException(field, "'..' is not allowed in image paths");
                }
            }
        }
        Path p = baseDir.resolve(given).normalize();
        if (!Files.exists(p)) {
            throw new ManifestException(field, "file " + p + " does not exist");
        }
        if (!Files.isRegularFile(p)) {
            throw new ManifestException(field, p + " is not a regular file");
        }
        if (!Files.isReadable(p)) {
            throw new ManifestException(field, p + " is not readable");
        }
        if (confined) {
            try {
                if (!p.toRealPath().startsWith(baseDir.toRealPath())) {
                    throw new ManifestException(field, path + " leads outside the image root (through a symlink)");
                }
            } catch (IOException e) {
                throw new ManifestException(field, "cannot resolve " + p + ": " + e.getMessage());
            }
        }
        return p;
    }

    /** MemTotal of this host, or 0 if unknown. */
    public static long hostMemoryBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // unknown: no host limit is applied
        }
        return 0;
    }
}
