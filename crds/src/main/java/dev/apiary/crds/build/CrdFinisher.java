package dev.apiary.crds.build;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmmNode;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Build step run after the fabric8 CRD generator: puts the printer columns back in the order the model declares
 * them (the generator sorts them by name, and kubectl shows them in list order), then writes the CRDs to each
 * output directory given. Usage: {@code CrdFinisher <generated-dir> <out-dir>...}.
 */
public final class CrdFinisher {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .disable(YAMLGenerator.Feature.SPLIT_LINES));

    private CrdFinisher() {}

    public static void main(String[] args) throws IOException {
        Path generated = Path.of(args[0]);
        for (Class<?> kind : List.of(VirtualMachine.class, VmmNode.class)) {
            String file = io.fabric8.kubernetes.api.model.HasMetadata.getFullResourceName(kind.asSubclass(
                    io.fabric8.kubernetes.api.model.HasMetadata.class)) + "-v1.yml";
            JsonNode crd = YAML.readTree(generated.resolve(file).toFile());
            List<String> order = Arrays.stream(kind.getAnnotationsByType(AdditionalPrinterColumn.class))
                    .map(AdditionalPrinterColumn::name).toList();
            for (JsonNode version : crd.path("spec").path("versions")) {
                JsonNode cols = version.get("additionalPrinterColumns");
                if (cols instanceof ArrayNode array) {
                    List<JsonNode> sorted = new ArrayList<>();
                    array.forEach(sorted::add);
                    sorted.sort(Comparator.comparingInt(c -> order.indexOf(c.path("name").asText())));
                    array.removeAll();
                    array.addAll(sorted);
                    ((ObjectNode) version).set("additionalPrinterColumns", array);
                }
            }
            String text = "# Generated from the Java model in crds/ by the fabric8 CRD generator and CrdFinisher;"
                    + " do not edit.\n" + YAML.writeValueAsString(crd);
            for (int i = 1; i < args.length; i++) {
                Path out = Path.of(args[i]);
                Files.createDirectories(out);
                Files.writeString(out.resolve(file), text);
            }
        }
    }
}
