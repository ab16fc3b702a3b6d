package dev.apiary.agent.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the host offers VMs and what its KVM can do. {@link #probe} asks the VMM ({@code vmm doctor}), which runs the
 * capability probe guest; {@link #parseDoctor} reads its JSON answer.
 *
 * @param fullGuests   KVM's verdict; null until the probe has answered
 * @param accelerators every accelerator the VMM knows with its verdict; null until the probe has answered
 */
public record HostFacts(int cpus, long memoryBytes, boolean kvmPresent, Integer kvmApiVersion, Boolean fullGuests,
        String reason, String kernel, List<AcceleratorVerdict> accelerators) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public HostFacts {
        accelerators = accelerators == null ? null : List.copyOf(accelerators);
    }

    /** The facts that need no probe: CPUs, memory, /dev/kvm, the kernel release. */
    public static HostFacts basic() {
        return new HostFacts(Runtime.getRuntime().availableProcessors(), memTotal(), Files.exists(Path.of("/dev/kvm")),
                null, null, "capability probe not run yet", kernelRelease(), null);
    }

    /** Whether some accelerator can run VMs here: the probe's verdicts, or /dev/kvm while the probe has not answered. */
    public boolean canRunVms() {
        return accelerators == null ? kvmPresent : accelerators.stream().anyMatch(AcceleratorVerdict::available);
    }

    /** Runs {@code vmm doctor --json} (up to 60 s) and merges its verdict into {@code base}. */
    public static HostFacts probe(HostFacts base, List<String> vmmCommand) {
        try {
            Process p = new ProcessBuilder(concat(concat(vmmCommand, "doctor"), "--json")).redirectErrorStream(false)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
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

    /**
     * Reads the JSON of {@code vmm doctor --json} (docs/vmm-process.md, "Host facts"): {@code kvmPresent},
     * {@code apiVersion}, {@code fullGuests}, {@code reason}, and {@code accelerators[]}. Full guests stay unknown
     * (null) when KVM is absent or unusable. A VMM from before {@code accelerators[]} knows only KVM, so its list is
     * KVM alone, with {@code kvmUsable} as the verdict.
     */
    public static HostFacts parseDoctor(HostFacts base, String doctor) {
        try {
            JsonNode j = JSON.readTree(doctor);
            if (j == null || !j.isObject()) {
                return base.withProbe(null, null, "vmm doctor gave no verdict");
            }
            Integer api = j.path("apiVersion").isInt() ? j.get("apiVersion").asInt() : null;
            boolean usable = j.path("kvmUsable").asBoolean(false);
            Boolean full = usable && j.path("fullGuests").isBoolean() ? j.get("fullGuests").asBoolean() : null;
            String reason = j.path("reason").asText(null);
            List<AcceleratorVerdict> accel = new ArrayList<>();
            if (j.path("accelerators").isArray()) {
                for (JsonNode a : j.get("accelerators")) {
                    if (!a.path("name").isTextual()) continue;
                    accel.add(new AcceleratorVerdict(a.get("name").asText(), a.path("available").asBoolean(false),
                            a.path("fullGuests").isBoolean() ? a.get("fullGuests").asBoolean() : null,
                            a.path("reason").asText(null)));
                }
            } else {
                accel.add(new AcceleratorVerdict(AcceleratorVerdict.KVM, usable, full, reason));
            }
            return new HostFacts(base.cpus, base.memoryBytes, j.path("kvmPresent").asBoolean(base.kvmPresent), api,
                    full, reason == null ? "vmm doctor gave no verdict" : reason, base.kernel, accel);
        } catch (JsonProcessingException e) {
            return base.withProbe(null, null, "vmm doctor gave no verdict: " + e.getOriginalMessage());
        }
    }

    /** These facts with KVM's probe fields replaced; the accelerators stay unknown (the probe gave no list). */
    public HostFacts withProbe(Integer api, Boolean full, String why) {
        return new HostFacts(cpus, memoryBytes, kvmPresent, api, full, why, kernel, null);
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
        List<String> out = new ArrayList<>(a);
        out.add(b);
        return out;
    }
}
