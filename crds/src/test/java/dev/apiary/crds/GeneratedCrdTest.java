package dev.apiary.crds;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reads the CRD YAML the build generated (there is no API server here to try it on) and checks what it promises. */
class GeneratedCrdTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");

    private static JsonNode crd(String file) throws Exception {
        return YAML.readTree(GENERATED.resolve(file).toFile());
    }

    private static JsonNode vmSchema() throws Exception {
        return crd("virtualmachines.apiary.dev-v1.yml").at("/spec/versions/0/schema/openAPIV3Schema/properties/spec");
    }

    private static List<String> rules(JsonNode node) {
        List<String> out = new ArrayList<>();
        node.path("x-kubernetes-validations").forEach(r -> out.add(r.path("rule").asText()));
        return out;
    }

    @Test
    void virtualMachineIsNamespacedWithShortNameAndStatus() throws Exception {
        JsonNode spec = crd("virtualmachines.apiary.dev-v1.yml").path("spec");
        assertEquals("Namespaced", spec.path("scope").asText());
        assertEquals("vm", spec.at("/names/shortNames/0").asText());
        assertTrue(spec.at("/versions/0/subresources").has("status"));
        assertEquals("v1alpha1", spec.at("/versions/0/name").asText());
    }

    @Test
    void vmmNodeIsClusterScoped() throws Exception {
        JsonNode spec = crd("vmmnodes.apiary.dev-v1.yml").path("spec");
        assertEquals("Cluster", spec.path("scope").asText());
        assertTrue(spec.at("/versions/0/subresources").has("status"));
        JsonNode status = spec.at("/versions/0/schema/openAPIV3Schema/properties/status/properties");
        for (String f : List.of("capacity", "allocated", "kvm", "heartbeatTime", "endpoint", "versions", "conditions")) {
            assertTrue(status.has(f), f);
        }
        assertTrue(status.at("/kvm/properties").has("fullGuests"));
        JsonNode accel = status.at("/accelerators/items/properties");
        for (String f : List.of("name", "available", "fullGuests", "reason")) {
            assertTrue(accel.has(f), "accelerators[]." + f);
        }
        List<String> names = new ArrayList<>();
        spec.at("/versions/0/additionalPrinterColumns").forEach(c -> names.add(c.path("name").asText()));
        assertEquals(List.of("Ready", "CPUs", "Memory", "VMs", "Accelerators", "Full-Guests", "Age"), names);
    }

    @Test
    void virtualMachineStatusSaysWhichAcceleratorARunGot() throws Exception {
        JsonNode version = crd("virtualmachines.apiary.dev-v1.yml").at("/spec/versions/0");
        List<String> values = new ArrayList<>();
        version.at("/schema/openAPIV3Schema/properties/status/properties/accelerator/enum")
                .forEach(e -> values.add(e.asText()));
        assertEquals(List.of("Emulated", "KVM"), values.stream().sorted().toList());
        List<String> choices = new ArrayList<>();
        version.at("/schema/openAPIV3Schema/properties/spec/properties/accelerator/enum")
                .forEach(e -> choices.add(e.asText()));
        assertEquals(List.of("Auto", "Emulated", "KVM"), choices.stream().sorted().toList());
        assertEquals("Auto", version.at("/schema/openAPIV3Schema/properties/spec/properties/accelerator/default").asText());
        for (JsonNode c : version.path("additionalPrinterColumns")) {
            if (c.path("name").asText().equals("Accel")) assertEquals(".status.accelerator", c.path("jsonPath").asText());
        }
    }

    @Test
    void printerColumnsInOrder() throws Exception {
        List<String> names = new ArrayList<>();
        crd("virtualmachines.apiary.dev-v1.yml").at("/spec/versions/0/additionalPrinterColumns")
                .forEach(c -> names.add(c.path("name").asText()));
        assertEquals(List.of("Phase", "Node", "CPUs", "Memory", "Ready", "Accel", "Age"), names);
    }

    @Test
    void schemaCarriesTheValidation() throws Exception {
        JsonNode spec = vmSchema();
        JsonNode p = spec.path("properties");
        assertEquals(List.of("boot", "cpus", "memory"), List.of(spec.at("/required/0").asText(),
                spec.at("/required/1").asText(), spec.at("/required/2").asText()));
        assertEquals(1, p.at("/cpus/minimum").asInt());
        assertEquals(64, p.at("/cpus/maximum").asInt());
        assertTrue(rules(p.path("memory")).get(0).contains("quantity('64Mi')"));
        assertEquals(List.of("has(self.kernel) != has(self.firmware)"), rules(p.path("boot")));
        assertEquals(List.of(VirtualMachineSpec.DISK_NAMES_RULE), rules(p.path("disks")));
        assertEquals(List.of(VirtualMachineSpec.NETWORK_NAMES_RULE), rules(p.path("networks")));
        assertEquals(VirtualMachineSpec.RELATIVE_PATH, p.at("/disks/items/properties/image/properties/path/pattern").asText());
        assertEquals(VirtualMachineSpec.RELATIVE_PATH, p.at("/boot/properties/kernel/properties/path/pattern").asText());
        List<String> strategies = new ArrayList<>();
        p.at("/runStrategy/enum").forEach(e -> strategies.add(e.asText()));
        assertEquals(5, strategies.size());
        assertTrue(strategies.containsAll(List.of("Always", "RerunOnFailure", "Manual", "Halted", "Once")));
        p.path("boot").path("x-kubernetes-validations").forEach(r ->
                assertTrue(r.path("message").asText().contains("boot.kernel"), "message names the field"));
    }

    @Test
    void deployCopyMatchesTheBuild() throws Exception {
        for (String f : List.of("virtualmachines.apiary.dev-v1.yml", "vmmnodes.apiary.dev-v1.yml")) {
            assertEquals(Files.readString(GENERATED.resolve(f)), Files.readString(Path.of("../deploy/crds").resolve(f)), f);
        }
    }
}
