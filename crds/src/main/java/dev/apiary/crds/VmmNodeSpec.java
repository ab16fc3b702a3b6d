package dev.apiary.crds;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** What an administrator decides about a node. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class VmmNodeSpec {
    @JsonPropertyDescription("true: no new VMs are bound here (VMs already here stay), like kubectl cordon.")
    public Boolean unschedulable;
}
