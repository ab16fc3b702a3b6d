package dev.apiary.crds;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.ArrayList;
import java.util.List;

/** What is true of a node. The agent writes all of it except {@code allocated} (operator) and Ready=False on timeout. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class VmmNodeStatus {
    /** Agent: what VMs may use in total on this node. */
    public Resources capacity;
    /** Operator: what the VMs bound here hold (sum of their spec.cpus and spec.memory), and how many. */
    public Allocated allocated;
    /** Agent: KVM facts from the host probe. Kept for operators that predate {@link #accelerators}. */
    public Kvm kvm;
    /**
     * Agent: every accelerator the node's VMM knows, with its verdict (vmm doctor). Absent from agents that predate
     * it; readers then take KVM from {@link #kvm} and assume no software CPU.
     */
    @JsonPropertyDescription("Each accelerator the node's VMM offers (KVM, Emulated) and whether it is available here.")
    public List<AcceleratorInfo> accelerators;
    /** Agent: RFC 3339 time of the last heartbeat; the operator calls the node NotReady when it is too old. */
    @JsonPropertyDescription("RFC 3339 time of the agent's last heartbeat.")
    public String heartbeatTime;
    /** Agent: base URL of the agent API, e.g. https://10.0.0.5:9443. */
    public String endpoint;
    /** Agent: software versions. */
    public Versions versions;
    /** Agent: Ready=True with each heartbeat; operator: Ready=Unknown, reason HeartbeatTimeout, when stale. */
    public List<Condition> conditions = new ArrayList<>();

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
public static class Resources {
        @Min(0)
        public Integer cpus;
        public Quantity memory;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
public static class Allocated {
        public Integer cpus;
        public Quantity memory;
        public Integer vms;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
public static class Kvm {
        public Boolean present;
        public Integer apiVersion;
        @JsonPropertyDescription("Whether kernel-mode guest code runs natively (distribution kernels, OVMF).")
        public Boolean fullGuests;
        public String reason;
    }

    /** One accelerator's verdict on this node, as {@code vmm doctor --json} gives it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
public static class AcceleratorInfo {
        @JsonPropertyDescription("KVM or Emulated (a newer VMM may report others).")
        public String name;
        @JsonPropertyDescription("Whether VMs can run with this accelerator on this node.")
        public Boolean available;
        @JsonPropertyDescription("Whether kernel-mode guest code (distribution kernels, OVMF) runs with it.")
        public Boolean fullGuests;
        @JsonPropertyDescription("Why, in words (e.g. /dev/kvm does not exist).")
        public String reason;

        public AcceleratorInfo() {}

        public AcceleratorInfo(String name, Boolean available, Boolean fullGuests, String reason) {
            this.name = name;
            this.available = available;
            this.fullGuests = fullGuests;
            this.reason = reason;
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
public static class Versions {
        public String agent;
        public String vmm;
        public String kernel;
    }
}
