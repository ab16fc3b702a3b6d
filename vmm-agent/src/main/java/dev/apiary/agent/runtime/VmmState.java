package dev.apiary.agent.runtime;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * {@code state.json} as the VMM writes it (docs/vmm-process.md).
 *
 * @param accelerator what this run got: KVM or Emulated (absent from VMMs that know only KVM)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record VmmState(String phase, Long pid, String startedAt, Long bootMillis, Integer boots, Integer vcpus,
        Long memoryBytes, List<String> devices, Boolean fullGuests, String accelerator, List<Interface> interfaces) {

    /** A VMM without network interfaces. */
    public VmmState(String phase, Long pid, String startedAt, Long bootMillis, Integer boots, Integer vcpus,
            Long memoryBytes, List<String> devices, Boolean fullGuests, String accelerator) {
        this(phase, pid, startedAt, bootMillis, boots, vcpus, memoryBytes, devices, fullGuests, accelerator, null);
    }

    /** One network interface as the VMM reports it; {@code ipAddresses}: what the guest's traffic shows. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Interface(String name, String mac, String backend, String hostInterface, Integer queues,
            List<String> ipAddresses) {}

    /** Whether the VMM has a framebuffer device (ramfb / display) to show. */
    public boolean hasDisplay() {
        return devices != null && devices.stream().anyMatch(d -> d.contains("ramfb") || d.contains("display")
                || d.contains("vga"));
    }
}
