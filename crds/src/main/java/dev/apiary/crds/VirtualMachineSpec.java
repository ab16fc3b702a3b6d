package dev.apiary.crds;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The desired machine. Field names are the contract in DESIGN.md; every field is documented in docs/api.md. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class VirtualMachineSpec {
    /** Relative path below the node's image root: no leading '/', no empty, '.'-only or '..' segment (RE2-compatible). */
    public static final String RELATIVE_PATH =
            "^([^/.][^/]*|\\.[^/.][^/]*|\\.\\.[^/]+)(/([^/.][^/]*|\\.[^/.][^/]*|\\.\\.[^/]+))*$";
    /** A DNS-1123 label, as Kubernetes uses for names. */
    public static final String NAME = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
    public static final int MIN_CPUS = 1;
    public static final int MAX_CPUS = 64;
    public static final String MIN_MEMORY = "64Mi";
    public static final int MAX_DISKS = 16;
    public static final int MAX_NETWORKS = 8;
    /** CEL: an int-or-string that is a quantity of at least 64 MiB. Needs Kubernetes 1.29+ (quantity library). */
    static final String MEMORY_RULE = "type(self) == int ? self >= 67108864 : "
            + "(isQuantity(self) && quantity(self).compareTo(quantity('64Mi')) >= 0)";
    /*
     * The CEL rules' messages, also SpecValidation's words for the same refusals (one text, two checkers; the
     * crds test ValidationAgreementTest evaluates the rules and compares). No reason FieldValueDuplicate on the
     * name rules: with it the API server prints only "Duplicate value" and drops the message.
     */
    static final String MEMORY_MESSAGE = "spec.memory must be a quantity of at least 64Mi";
    static final String BOOT_MESSAGE = "exactly one of boot.kernel or boot.firmware must be set";
    /** No name twice; an item without its (required) name is left to that rule, not an evaluation error here. */
    static final String DISK_NAMES_RULE = "self.all(d, !has(d.name) || self.exists_one(e, has(e.name) && e.name == d.name))";
    static final String NETWORK_NAMES_RULE =
            "self.all(n, !has(n.name) || self.exists_one(e, has(e.name) && e.name == n.name))";
    static final String DISK_NAMES_MESSAGE = "disk names must be unique";
    static final String NETWORK_NAMES_MESSAGE = "network names must be unique";
    static final String BLOCK_SIZE_MESSAGE = "blockSize must be 512 or 4096";
    static final String HISTORY_RULE = "type(self) == int ? self >= 0 : (isQuantity(self) && quantity(self).sign() >= 0)";
    static final String HISTORY_MESSAGE = "spec.serial.historyBytes must be a quantity of at least 0";

    @JsonPropertyDescription("When the VM should run: Always, RerunOnFailure, Manual, Halted or Once (KubeVirt's meanings).")
    @Default("Always")
    public RunStrategy runStrategy;
    @JsonPropertyDescription("Which accelerator runs the VM: Auto (KVM where usable, else the software CPU), KVM (only on "
            + "nodes with a usable KVM) or Emulated (the software x86-64 CPU, on any node).")
    @Default("Auto")
    public Accelerator accelerator;
    @JsonPropertyDescription("Virtual CPUs, 1 to 64.")
    @Required
    @Min(MIN_CPUS)
    @Max(MAX_CPUS)
    public Integer cpus;
    @JsonPropertyDescription("Guest RAM as a Kubernetes quantity, at least 64Mi.")
    @Required
    @ValidationRule(value = MEMORY_RULE, message = MEMORY_MESSAGE, reason = "FieldValueInvalid")
    public Quantity memory;
    @JsonPropertyDescription("How the VM boots: exactly one of kernel or firmware.")
    @Required
    public Boot boot;
    @Size(max = MAX_DISKS)
    @ValidationRule(value = DISK_NAMES_RULE, message = DISK_NAMES_MESSAGE)
    public List<Disk> disks = new ArrayList<>();
    @Size(max = MAX_NETWORKS)
    @ValidationRule(value = NETWORK_NAMES_RULE, message = NETWORK_NAMES_MESSAGE)
    public List<Network> networks = new ArrayList<>();
    public Serial serial;
    public Display display;
    @JsonPropertyDescription("Labels a VmmNode must carry for this VM to be placed on it.")
    public Map<String, String> nodeSelector = new LinkedHashMap<>();
    /** What a guest-initiated reset (reboot, triple fault) does: boot again, or end the run. */
    public RebootPolicy rebootPolicy;

    /**
     * A start, stop or restart asked for with {@code kubectl patch}; a new {@code id} makes a new request. The
     * operator answers in {@code status.lastRequest} (Completed, or Refused with the reason).
     */
    @JsonPropertyDescription("Start, Stop or Restart request; change id to make a new request. See status.lastRequest.")
    public LifecycleRequest lifecycleRequest;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class LifecycleRequest {
        @Required
        public LifecycleAction action;
        @JsonPropertyDescription("Any string unique per request, e.g. $(date +%s).")
        @Required
        @Size(min = 1, max = 128)
        public String id;
    }

    public enum LifecycleAction {
        /** Start a stopped VM. */
        Start,
        /** Stop a running VM (guest power-off, then the VMM). */
        Stop,
        /** Stop and start again on the same node (a new run). */
        Restart
    }

    /** What executes the guest's instructions. */
    public enum Accelerator {
        /** KVM where the node has a usable KVM, else the software CPU; the VM's status says which it got. */
        Auto,
        /** Linux KVM only: such a VM is placed only on nodes with a usable KVM, and fails to start elsewhere. */
        KVM,
        /** The VMM's software x86-64 CPU with userspace interrupt controllers: any node, slower. */
        Emulated
    }

    public enum RebootPolicy {
        /** Reset devices and vCPUs and boot the same image again (a PC's behaviour). */
        Reboot,
        /** End the run as if the guest had powered off. */
        Stop
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = "has(self.kernel) != has(self.firmware)", message = BOOT_MESSAGE, reason = "FieldValueInvalid")
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Boot {
        public KernelBoot kernel;
        public FirmwareBoot firmware;
    }

    /** Direct Linux boot: a bzImage, an optional initrd and a command line. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class KernelBoot {
        @JsonPropertyDescription("bzImage, relative to the node's image root.")
        @Required
        @Pattern(RELATIVE_PATH)
        @Size(max = 4096)
        public String path;
        @Pattern(RELATIVE_PATH)
        @Size(max = 4096)
        public String initrd;
        public String cmdline;
    }

    /** UEFI boot from a firmware image (OVMF_CODE.fd) with a per-VM copy of its variable store. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class FirmwareBoot {
        @JsonPropertyDescription("The firmware's code (OVMF_CODE_4M.fd), relative to the node's image root.")
        @Required
        @Pattern(RELATIVE_PATH)
        @Size(max = 4096)
        public String path;
        @JsonPropertyDescription("Template of the UEFI variable store (OVMF_VARS_4M.fd); each VM gets its own copy. "
                + "Default: the file next to path whose name has VARS for CODE.")
        @Pattern(RELATIVE_PATH)
        @Size(max = 4096)
        public String vars;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Disk {
        @Required
        @Pattern(NAME)
        public String name;
        @Default("nvme")
        public DiskBus bus;
        @Required
        public ImageSource image;
        public Boolean readOnly;
        @JsonPropertyDescription("Logical block size the guest sees: 512 (default) or 4096 bytes.")
        @ValidationRule(value = "self == 512 || self == 4096", message = BLOCK_SIZE_MESSAGE)
        public Integer blockSize;
    }

    public enum DiskBus { nvme }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class ImageSource {
        @JsonPropertyDescription("Disk image file, relative to the node's image root.")
        @Required
        @Pattern(RELATIVE_PATH)
        @Size(max = 4096)
        public String path;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Network {
        @Required
        @Pattern(NAME)
        public String name;
        @JsonPropertyDescription("Device model; only virtio today.")
        @Pattern("^virtio$")
        public String model;
        @JsonPropertyDescription("Host side; only tap today.")
        @Pattern("^tap$")
        public String backend;
        @Pattern("^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")
        public String macAddress;
        @JsonPropertyDescription("backend tap: the host interface to attach to (created when missing and the VMM "
                + "may); default: a new TAP named by the kernel.")
        @Pattern("^[A-Za-z0-9_.-]{1,15}$")
        public String tapName;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Serial {
        @ValidationRule(value = HISTORY_RULE, message = HISTORY_MESSAGE, reason = "FieldValueInvalid")
        public Quantity historyBytes;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Display {
        public static final int MIN_SIZE = 64;
        public static final int MAX_SIZE = 8192;

        public Boolean vnc;
        @JsonPropertyDescription("Framebuffer width in pixels (default 1024)")
        @Min(MIN_SIZE)
        @Max(MAX_SIZE)
        public Integer width;
        @JsonPropertyDescription("Framebuffer height in pixels (default 768)")
        @Min(MIN_SIZE)
        @Max(MAX_SIZE)
        public Integer height;
    }
}
