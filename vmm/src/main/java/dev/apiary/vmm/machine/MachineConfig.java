package dev.apiary.vmm.machine;

import dev.apiary.crds.ManifestException;
import dev.apiary.crds.Manifests;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineSpec;
import dev.apiary.vmm.memory.MemoryLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What the VMM needs to build a machine, checked and resolved from a manifest: every problem is a
 * {@link ManifestException} naming the field, before anything is allocated.
 */
public record MachineConfig(String name, int cpus, long memoryBytes, Path kernel, Path initrd, String cmdline,
        VirtualMachineSpec.RebootPolicy rebootPolicy) {
    public static final int MAX_CPUS = 64;
    public static final long MIN_MEMORY = 64L << 20;

    /**
     * @param baseDir relative image paths are resolved against it (the manifest's folder for {@code vmm run},
     *                the node's image root under the agent)
     * @param hostMemory bytes of RAM this host has; a guest may not ask for more
     */
    public static MachineConfig from(VirtualMachine vm, Path baseDir, long hostMemory) throws ManifestException {
        return from(vm, baseDir, hostMemory, false);
    }

    /**
     * @param confined image paths must stay inside {@code baseDir} (the agent's image root): absolute paths,
     *                 {@code ..} and symlinks that lead outside are refused
     */
    public static MachineConfig from(VirtualMachine vm, Path baseDir, long hostMemory, boolean confined)
            throws ManifestException {
        VirtualMachineSpec spec = vm.getSpec();
        String name = vm.getMetadata() != null && vm.getMetadata().getName() != null ? vm.getMetadata().getName() : "vm";
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
        if (spec.boot.firmware != null) {
            throw new ManifestException("spec.boot.firmware", "UEFI firmware boot is not supported by this VMM yet; "
                    + "use boot.kernel");
        }
        if (spec.boot.kernel.path == null || spec.boot.kernel.path.isBlank()) {
            throw new ManifestException("spec.boot.kernel.path", "is required");
        }
        Path kernel = imageFile(baseDir, spec.boot.kernel.path, "spec.boot.kernel.path", confined);
        Path initrd = spec.boot.kernel.initrd == null ? null
                : imageFile(baseDir, spec.boot.kernel.initrd, "spec.boot.kernel.initrd", confined);
        if (!spec.disks.isEmpty()) {
            throw new ManifestException("spec.disks", "disks are not supported by this VMM build yet");
        }
        if (!spec.networks.isEmpty()) {
            throw new ManifestException("spec.networks", "network interfaces are not supported by this VMM build yet");
        }
        if (spec.display != null && Boolean.TRUE.equals(spec.display.vnc)) {
            throw new ManifestException("spec.display.vnc", "the display is not supported by this VMM build yet");
        }
        String cmdline = spec.boot.kernel.cmdline == null ? "" : spec.boot.kernel.cmdline;
        VirtualMachineSpec.RebootPolicy policy = spec.rebootPolicy == null ? VirtualMachineSpec.RebootPolicy.Reboot
                : spec.rebootPolicy;
        return new MachineConfig(name, cpus, memory, kernel, initrd, cmdline, policy);
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
