package dev.apiary.crds;

import io.fabric8.kubernetes.api.model.Quantity;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The CRD's validation rules (OpenAPI and CEL in the generated schema), checked again in Java: by the operator,
 * because an API server older than the rules or a manifest written around it must not reach a node, and by
 * {@code vmm run}, which has no API server at all. Each problem names its field, as the API server would.
 */
public final class SpecValidation {
    private static final Pattern RELATIVE_PATH = Pattern.compile(VirtualMachineSpec.RELATIVE_PATH);
    private static final Pattern NAME = Pattern.compile(VirtualMachineSpec.NAME);
    private static final Pattern MAC = Pattern.compile("^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$");
    private static final long MIN_MEMORY_BYTES = 64L << 20;

    private SpecValidation() {}

    /** Every problem found, in field order; empty when the spec is valid. */
    public static List<ManifestException> problems(VirtualMachineSpec spec) {
        List<ManifestException> out = new ArrayList<>();
        if (spec == null) {
            out.add(new ManifestException("spec", "Required value"));
            return out;
        }
        if (spec.cpus == null) {
            out.add(new ManifestException("spec.cpus", "Required value"));
        } else if (spec.cpus < VirtualMachineSpec.MIN_CPUS || spec.cpus > VirtualMachineSpec.MAX_CPUS) {
            out.add(new ManifestException("spec.cpus", "must be between " + VirtualMachineSpec.MIN_CPUS + " and "
                    + VirtualMachineSpec.MAX_CPUS + ", got " + spec.cpus));
        }
        if (spec.memory == null) {
            out.add(new ManifestException("spec.memory", "Required value"));
        } else {
            try {
                long bytes = Manifests.bytes(spec.memory, "spec.memory");
                if (bytes < MIN_MEMORY_BYTES) {
                    out.add(new ManifestException("spec.memory", "must be at least " + VirtualMachineSpec.MIN_MEMORY
                            + ", got " + spec.memory));
                }
            } catch (ManifestException e) {
                out.add(e);
            }
        }
        checkBoot(spec.boot, out);
        checkDisks(spec.disks, out);
        checkNetworks(spec.networks, out);
        if (spec.serial != null && spec.serial.historyBytes != null) {
            quantity(spec.serial.historyBytes, "spec.serial.historyBytes", out);
        }
        if (spec.lifecycleRequest != null) {
            if (spec.lifecycleRequest.action == null) {
                out.add(new ManifestException("spec.lifecycleRequest.action", "Required value"));
            }
            if (spec.lifecycleRequest.id == null || spec.lifecycleRequest.id.isEmpty()) {
                out.add(new ManifestException("spec.lifecycleRequest.id", "Required value"));
            }
        }
        return out;
    }

    /** Whether {@code path} stays below the image root (the CRD's pattern): relative, no '.', '..' or empty segment. */
    public static boolean isRelativePath(String path) {
        return path != null && path.length() <= 4096 && RELATIVE_PATH.matcher(path).matches();
    }

    private static void checkBoot(VirtualMachineSpec.Boot boot, List<ManifestException> out) {
        if (boot == null) {
            out.add(new ManifestException("spec.boot", "Required value"));
            return;
        }
        if ((boot.kernel == null) == (boot.firmware == null)) {
            out.add(new ManifestException("spec.boot", "exactly one of boot.kernel or boot.firmware must be set"));
        }
        if (boot.kernel != null) {
            path(boot.kernel.path, "spec.boot.kernel.path", true, out);
            path(boot.kernel.initrd, "spec.boot.kernel.initrd", false, out);
        }
        if (boot.firmware != null) {
            path(boot.firmware.path, "spec.boot.firmware.path", true, out);
        }
    }

    private static void checkDisks(List<VirtualMachineSpec.Disk> disks, List<ManifestException> out) {
        if (disks == null) return;
        if (disks.size() > VirtualMachineSpec.MAX_DISKS) {
            out.add(new ManifestException("spec.disks", "at most " + VirtualMachineSpec.MAX_DISKS + " disks"));
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < disks.size(); i++) {
            VirtualMachineSpec.Disk d = disks.get(i);
            String f = "spec.disks[" + i + "]";
            if (d == null) {
                out.add(new ManifestException(f, "Required value"));
                continue;
            }
            name(d.name, f + ".name", names, "disk", out);
            if (d.image == null) {
                out.add(new ManifestException(f + ".image", "Required value"));
            } else {
                path(d.image.path, f + ".image.path", true, out);
            }
            if (d.blockSize != null && d.blockSize != 512 && d.blockSize != 4096) {
                out.add(new ManifestException(f + ".blockSize", "must be 512 or 4096"));
            }
        }
    }

    private static void checkNetworks(List<VirtualMachineSpec.Network> networks, List<ManifestException> out) {
        if (networks == null) return;
        if (networks.size() > VirtualMachineSpec.MAX_NETWORKS) {
            out.add(new ManifestException("spec.networks", "at most " + VirtualMachineSpec.MAX_NETWORKS + " networks"));
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < networks.size(); i++) {
            VirtualMachineSpec.Network n = networks.get(i);
            String f = "spec.networks[" + i + "]";
            if (n == null) {
                out.add(new ManifestException(f, "Required value"));
                continue;
            }
            name(n.name, f + ".name", names, "network", out);
            if (n.model != null && !n.model.equals("virtio")) {
                out.add(new ManifestException(f + ".model", "unsupported value '" + n.model + "' (virtio)"));
            }
            if (n.backend != null && !n.backend.equals("tap") && !n.backend.equals("passt")) {
                out.add(new ManifestException(f + ".backend", "unsupported value '" + n.backend + "' (tap, passt)"));
            }
            boolean passt = "passt".equals(n.backend);
            if (n.queues != null && (n.queues < 1 || n.queues > VirtualMachineSpec.MAX_QUEUES)) {
                out.add(new ManifestException(f + ".queues", "must be between 1 and " + VirtualMachineSpec.MAX_QUEUES
                        + ", got " + n.queues));
            } else if (n.queues != null && n.queues != 1 && passt) {
                out.add(new ManifestException(f, VirtualMachineSpec.PASST_QUEUES_MESSAGE));
            }
            if (n.ports != null && !n.ports.isEmpty() && !passt) {
                out.add(new ManifestException(f, VirtualMachineSpec.PORTS_MESSAGE));
            }
            if (n.ports != null) {
                if (n.ports.size() > VirtualMachineSpec.MAX_PORTS) {
                    out.add(new ManifestException(f + ".ports", "at most " + VirtualMachineSpec.MAX_PORTS + " ports"));
                }
                for (int j = 0; j < n.ports.size(); j++) {
                    VirtualMachineSpec.Port p = n.ports.get(j);
                    String pf = f + ".ports[" + j + "]";
                    if (p == null) {
                        out.add(new ManifestException(pf, "Required value"));
                        continue;
                    }
                    if (p.protocol != null && !p.protocol.equals("TCP") && !p.protocol.equals("UDP")) {
                        out.add(new ManifestException(pf + ".protocol", "unsupported value '" + p.protocol + "' (TCP, UDP)"));
                    }
                    if (p.port == null) {
                        out.add(new ManifestException(pf + ".port", "Required value"));
                    } else if (p.port < 1 || p.port > 65535) {
                        out.add(new ManifestException(pf + ".port", "must be between 1 and 65535, got " + p.port));
                    }
                    if (p.guestPort != null && (p.guestPort < 1 || p.guestPort > 65535)) {
                        out.add(new ManifestException(pf + ".guestPort", "must be between 1 and 65535, got " + p.guestPort));
                    }
                }
            }
            if (n.macAddress != null && !MAC.matcher(n.macAddress).matches()) {
                out.add(new ManifestException(f + ".macAddress", "not a MAC address '" + n.macAddress + "'"));
            }
            if (n.tapName != null && !n.tapName.matches("[A-Za-z0-9_.-]{1,15}")) {
                out.add(new ManifestException(f + ".tapName", "not an interface name '" + n.tapName
                        + "' (1 to 15 letters, digits, '_', '.', '-')"));
            }
        }
    }

    private static void name(String name, String field, Set<String> seen, String what, List<ManifestException> out) {
        if (name == null) {
            out.add(new ManifestException(field, "Required value"));
        } else if (!NAME.matcher(name).matches()) {
            out.add(new ManifestException(field, "'" + name + "' is not a DNS-1123 label"));
        } else if (!seen.add(name)) {
            out.add(new ManifestException(field, "Duplicate value '" + name + "': " + what + " names must be unique"));
        }
    }

    private static void path(String path, String field, boolean required, List<ManifestException> out) {
        if (path == null) {
            if (required) out.add(new ManifestException(field, "Required value"));
        } else if (!isRelativePath(path)) {
            out.add(new ManifestException(field, "'" + path
                    + "' must be a relative path below the image root (no leading '/', no '.', '..' or empty segments)"));
        }
    }

    private static void quantity(Quantity q, String field, List<ManifestException> out) {
        try {
            Manifests.bytes(q, field);
        } catch (ManifestException e) {
            out.add(e);
        }
    }
}
