package dev.apiary.crds;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What is true of a VM. Written by the operator and the agent through the status subresource. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VirtualMachineStatus {
    public VmPhase phase;
    public String nodeName;
    public List<Condition> conditions = new ArrayList<>();
    public Long observedGeneration;
    public VmmProcess vmm;
    public Agent agent;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class VmmProcess {
        public Long pid;
        public String startedAt;
        public Long bootMillis;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Agent {
        public String endpoint;
    }
}
