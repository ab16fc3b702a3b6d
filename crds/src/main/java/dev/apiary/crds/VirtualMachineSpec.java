package dev.apiary.crds;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The desired machine. Field names are the contract in DESIGN.md; every field is documented in docs/api.md. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VirtualMachineSpec {
    public RunStrategy runStrategy;
    public Integer cpus;
    public Quantity memory;
    public Boot boot;
    public List<Disk> disks = new ArrayList<>();
    public List<Network> networks = new ArrayList<>();
    public Serial serial;
    public Display display;
    public Map<String, String> nodeSelector = new LinkedHashMap<>();
    /** What a guest-initiated reset (reboot, triple fault) does: boot again, or end the run. */
    public RebootPolicy rebootPolicy;

    public enum RebootPolicy {
        /** Reset devices and vCPUs and boot the same image again (a PC's behaviour). */
        Reboot,
        /** End the run as if the guest had powered off. */
        Stop
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Boot {
        public KernelBoot kernel;
        public FirmwareBoot firmware;
    }

    /** Direct Linux boot: a bzImage, an optional initrd and a command line. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class KernelBoot {
        public String path;
        public String initrd;
        public String cmdline;
    }

    /** UEFI boot from a firmware image (OVMF_CODE.fd). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class FirmwareBoot {
        public String path;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Disk {
        public String name;
        public DiskBus bus;
        public ImageSource image;
        public Boolean readOnly;
    }

    public enum DiskBus { nvme }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class ImageSource {
        public String path;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Network {
        public String name;
        public String model;
        public String backend;
        public String macAddress;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Serial {
        public Quantity historyBytes;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Display {
        public Boolean vnc;
    }
}
