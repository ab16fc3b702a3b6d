package dev.apiary.crds;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Quantity;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/** Reads VirtualMachine manifests (YAML or JSON) strictly: unknown fields and bad values name the field. */
public final class Manifests {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    private static final ObjectMapper JSON = new ObjectMapper();

    private Manifests() {}

    public static VirtualMachine read(Path file) throws ManifestException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ManifestException("", "manifest " + file + " does not exist");
        } catch (IOException e) {
            throw new ManifestException("", "cannot read manifest " + file + ": " + e.getMessage());
        }
        return parse(text);
    }

    public static VirtualMachine parse(String text) throws ManifestException {
        VirtualMachine vm;
        try {
            vm = YAML.readValue(text, VirtualMachine.class);
        } catch (UnrecognizedPropertyException e) {
            throw new ManifestException(path(e), "unknown field '" + e.getPropertyName() + "'");
        } catch (InvalidFormatException e) {
            String allowed = e.getTargetType() != null && e.getTargetType().isEnum()
                    ? " (one of " + Arrays.stream(e.getTargetType().getEnumConstants()).map(String::valueOf)
                            .collect(Collectors.joining(", ")) + ")"
                    : "";
            throw new ManifestException(path(e), "invalid value '" + e.getValue() + "'" + allowed);
        } catch (JsonMappingException e) {
            throw new ManifestException(path(e), e.getOriginalMessage());
        } catch (JacksonException e) {
            throw new ManifestException("", "not valid YAML: " + e.getOriginalMessage());
        }
        if (vm == null) {
            throw new ManifestException("", "the manifest is empty");
        }
        if (vm.getKind() != null && !"VirtualMachine".equals(vm.getKind())) {
            throw new ManifestException("kind", "expected VirtualMachine, got " + vm.getKind());
        }
        if (vm.getSpec() == null) {
            throw new ManifestException("spec", "is required");
        }
        return vm;
    }

    public static String toJson(VirtualMachine vm) {
        try {
            return JSON.writeValueAsString(vm);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Bytes in a Kubernetes quantity ("1Gi", "512Mi", "1G"), or a ManifestException naming the field. */
    public static long bytes(Quantity q, String field) throws ManifestException {
        try {
            BigDecimal b = Quantity.getAmountInBytes(q);
            if (b.signum() < 0) {
                throw new ManifestException(field, "must not be negative");
            }
            return b.longValueExact();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new ManifestException(field, "not a valid quantity '" + q + "'");
        }
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (sb.length() > 0) sb.append('.');
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }
}
