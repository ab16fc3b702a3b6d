package dev.apiary.crds;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One node that can run VMs, registered and kept fresh by its vmm-agent. Cluster-scoped and named like the
 * Kubernetes Node. Its labels are what {@code spec.nodeSelector} of a VirtualMachine matches.
 */
@Group(VirtualMachine.GROUP)
@Version(VirtualMachine.VERSION)
@Kind("VmmNode")
@Plural("vmmnodes")
@Singular("vmmnode")
@ShortNames("vmn")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "CPUs", jsonPath = ".status.capacity.cpus", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Memory", jsonPath = ".status.capacity.memory", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "VMs", jsonPath = ".status.allocated.vms", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Accelerators", jsonPath = ".status.accelerators[?(@.available==true)].name",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Full-Guests", jsonPath = ".status.kvm.fullGuests", type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@JsonIgnoreProperties(ignoreUnknown = true)
public class VmmNode extends CustomResource<VmmNodeSpec, VmmNodeStatus> {
}
