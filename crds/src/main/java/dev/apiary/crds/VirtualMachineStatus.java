package dev.apiary.crds;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * What is true of a VM. Written by the operator and the agent through the status subresource; which side writes
 * which field is the contract in docs/operator.md ("Contract with the vmm-agent").
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class VirtualMachineStatus {
    /** Operator: Pending, Scheduled, Unknown; agent: Starting, Running, Stopping, Stopped, Succeeded, Failed. */
    public VmPhase phase;
    /** Operator: the VmmNode this VM is bound to; cleared when the VM is stopped for good and released. */
    public String nodeName;
    /** Both: Valid, Scheduled, Failure, RestartRequired, NodeReachable (operator); Ready (agent, operator on node loss). */
    public List<Condition> conditions = new ArrayList<>();
    /** Operator: the metadata.generation the operator last acted on. */
    public Long observedGeneration;
    /** Agent: the VMM process of the current run. */
    public VmmProcess vmm;
    /** Agent: how to reach the agent that runs this VM. */
    public Agent agent;
    /**
     * Agent: the accelerator the current (or last) run got, from the VMM's state.json; absent before the VMM has
     * said, and for a run that never started a guest.
     */
    @JsonPropertyDescription("Agent: the accelerator this run got (KVM or Emulated), as the VMM reported it.")
    public Accelerator accelerator;

    /**
     * Agent: the network interfaces of the current run, as the VMM reports them (state.json): MAC, host side, and
     * the IP addresses the guest's own traffic shows (as KubeVirt lists a VMI's interfaces). Absent while no VMM
     * runs.
     */
    @JsonPropertyDescription("Agent: the current run's network interfaces: name, MAC, and the IP addresses the "
            + "guest's traffic shows.")
    public List<Interface> interfaces;

    /** Operator: whether the node's agent should have the VM running. */
    @JsonPropertyDescription("Operator: Running or Stopped; the agent makes it so for run runId.")
    public DesiredState desiredState;
    /**
     * Operator: the run the agent should be running while desiredState is Running. Each start and restart is a new,
     * larger id; an agent that runs a smaller id stops it and starts this one.
     */
    public Long runId;
    /** Operator: the validated spec the agent runs for runId (copied when the run is issued). */
    public VirtualMachineSpec runSpec;
    /** Operator: the metadata.generation runSpec was copied from. */
    public Long runGeneration;
    /** Agent: how the last run ended. */
    public Exit exit;
    /** Operator: failed runs in a row (reset by a successful run or a user's start/restart). */
    public Integer failures;
    /** Operator: when the next automatic start may happen (RFC 3339), while backing off after a failure. */
    public String nextStartAt;
    /** Operator: automatic restarts so far (Always, RerunOnFailure). */
    public Integer restarts;
    /** Operator: the answer to the last spec.lifecycleRequest. */
    public RequestResult lastRequest;

    public enum DesiredState { Running, Stopped }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class VmmProcess {
        public Long pid;
        public String startedAt;
        public Long bootMillis;
        /** The runId this process serves. */
        public Long runId;
    }

    /** One network interface of a running VM (spec.networks[] by name). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Interface {
        /** The spec.networks[] entry. */
        public String name;
        public String mac;
        /** The guest's first address (IPv4 first), once its traffic has shown one. */
        @JsonPropertyDescription("The guest's first address (IPv4 before IPv6), learned from its own traffic.")
        public String ipAddress;
        public List<String> ipAddresses;
        /** tap or passt. */
        public String backend;
        /** The host side: the TAP's name, or passt:PID. */
        public String hostInterface;
        /** Queue pairs. */
        public Integer queues;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Agent {
        public String endpoint;
    }

    /** How a run ended, written by the agent together with phase Stopped, Succeeded or Failed. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Exit {
        public Long runId;
        /** PowerOff, Stopped, Reset, VmmCrashed, EmulationFailure, BootFailed, ... (free-form CamelCase). */
        public String reason;
        public String message;
        public Integer exitCode;
        public String finishedAt;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class RequestResult {
        public String id;
        public VirtualMachineSpec.LifecycleAction action;
        /** Accepted (under way), Completed, or Refused. */
        public String result;
        public String message;
        public String time;
    }
}
