package dev.apiary.agent.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the host offers VMs and what its KVM can do. {@link #probe} asks the VMM ({@code vmm doctor}), which runs the
 * capability probe guest; {@link #parseDoctor} reads its answer.
 *
 * @param fullGuests null until the probe has answered
 */
public record HostFacts(int cpus, long memoryBytes, boolean kvmPresent, Integer kvmApiVersion, Boolean fullGuests,
        String reason, String kernel) {

    /** The facts that need no probe: CPUs, memory, /dev/kvm, the kernel release. */
    public static HostFacts basic() {
        return new HostFacts(Runtime.getRuntime().availableProcessors(), memTotal(), Files.exists(Path.of("/dev/kvm")),
                null, null, "capability probe not run yet", kernelRelease());
    }

    /** Runs {@code vmm doctor} (up to 60 s) and merges its verdict into {@code base}. */
    public static HostFacts probe(HostFacts base, List<String> vmmCommand) {
        try {
            Process p = new ProcessBuilder(concat(vmmCommand, "doctor")).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return base.withProbe(null, null, "vmm doctor did not answer within 60 s");
            }
            return parseDoctor(base, new String(out));
        } catch (IOException e) {
            return base.withProbe(null, null, "cannot run vmm doctor: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return base;
        }
    }

    /** Reads the lines {@code KVM API: 12 …}, {@code probe: …} and {@code full guests: yes|no …} of vmm doctor. */
    public static HostFacts parseDoctor(HostFacts base, String doctor) {
        Integer api = null;
        Boolean full = null;
        String reason = null;
        for (String raw : doctor.split("\n")) {
            String line = raw.strip();
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String key = line.substring(0, colon).strip().toLowerCase();
            String value = line.substring(colon + 1).strip();
            switch (key) {
                case "kvm api" -> {
                    String n = value.split("\\s+")[0];
                    if (n.matches("\\d+")) api = Integer.parseInt(n);
                }
                case "probe" -> reason = value;
                case "full guests" -> full = value.startsWith("yes");
                case "verdict", "kvm", "/dev/kvm" -> {
                    if (value.startsWith("missing") || value.startsWith("unusable") || value.contains("cannot")) {
                        reason = reason == null ? value : reason;
                    }
                }
                default -> { }
            }
        }
        if (full == null && reason == null) reason = "vmm doctor gave no verdict";
        return new HostFacts(base.cpus, base.memoryBytes, base.kvmPresent, api, full, reason, base.kernel);
    }

    public HostFacts withProbe(Integer api, Boolean full, String why) {
        return new HostFacts(cpus, memoryBytes, kvmPresent, api, full, why, kernel);
    }

    static long memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return Runtime.getRuntime().maxMemory();
    }

    static String kernelRelease() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (IOException e) {
            return System.getProperty("os.version");
        }
    }

    private static List<String> concat(List<String> a, String b) {
        List<String> out = new java.util.ArrayList<>(a);
        out.add(b);
        return out;
    }
}
