package dev.apiary.crds;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Quantity;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads VirtualMachine manifests (YAML or JSON) strictly: unknown fields and bad values name the field. */
public final class Manifests {
    /** Mappers are built on first use: a VMM reading a JSON spec never loads the YAML parser (~50 ms). */
    private static final class Yaml {
        static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory())
                .setAnnotationIntrospector(new Strict())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                // The schema's integers are integers: 2.5 CPUs is refused, not truncated (ValidationAgreementTest).
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
    }

    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper()
                .setAnnotationIntrospector(new Strict())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                // The schema's integers are integers: 2.5 CPUs is refused, not truncated (ValidationAgreementTest).
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
    }

    /**
     * The model classes ignore unknown fields ({@code @JsonIgnoreProperties(ignoreUnknown = true)}), so that an
     * operator or agent reading an object a newer version wrote does not fail (the fabric8 client would drop the whole
     * watch event). A manifest is read as strictly as the API server's schema does: unknown fields are errors.
     */
    private static final class Strict extends JacksonAnnotationIntrospector {
        @Override
        public JsonIgnoreProperties.Value findPropertyIgnoralByName(MapperConfig<?> config, Annotated a) {
            return super.findPropertyIgnoralByName(config, a).withoutIgnoreUnknown();
        }
    }

    /** JSON is YAML too; a document that starts with '{' is read with the (lighter) JSON parser. */
    private static ObjectMapper mapperFor(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isWhitespace(c)) {
                return c == '{' ? Json.MAPPER : Yaml.MAPPER;
            }
        }
        return Yaml.MAPPER;
    }

    private Manifests() {}

    public static VirtualMachine read(Path file) throws ManifestException {
        return parse(readText(file));
    }

    private static String readText(Path file) throws ManifestException {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ManifestException("", "manifest " + file + " does not exist");
        } catch (IOException e) {
            throw new ManifestException("", "cannot read manifest " + file + ": " + e.getMessage());
        }
    }

    /** A Jackson binding error as a ManifestException naming the field, under {@code prefix}. */
    private static ManifestException mappingError(JsonMappingException e, String prefix) {
        String field = prefix.isEmpty() ? path(e) : join(prefix, path(e));
        if (e instanceof UnrecognizedPropertyException u) {
            return new ManifestException(field, "unknown field '" + u.getPropertyName() + "'");
        }
        if (e instanceof InvalidFormatException f) {
            if (f.getTargetType() != null && f.getTargetType().isEnum()) {
                // As the API server words a value outside the schema's enum (SpecValidation's other messages too).
                @SuppressWarnings("unchecked")
                Class<? extends Enum<?>> type = (Class<? extends Enum<?>>) f.getTargetType();
                return new ManifestException(field, "Unsupported value: " + SpecValidation.quote(String.valueOf(
                        f.getValue())) + ": supported values: " + SpecValidation.supported(type));
            }
            return new ManifestException(field, "invalid value '" + f.getValue() + "'");
        }
        return new ManifestException(field, e.getOriginalMessage());
    }

    public static VirtualMachine parse(String text) throws ManifestException {
        VirtualMachine vm;
        try {
            ObjectMapper mapper = mapperFor(text);
            com.fasterxml.jackson.databind.JsonNode root = mapper.readTree(text);
            if (root != null && root.isObject()) checkQuantityTypes(root.path("spec"));
            vm = root == null || root.isMissingNode() || root.isNull() ? null
                    : mapper.treeToValue(root, VirtualMachine.class);
        } catch (JsonMappingException e) {
            throw mappingError(e, "");
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

    /**
     * What a VMM needs of a manifest: the names and the spec. Read without building the Kubernetes object
     * (fabric8's CustomResource and ObjectMeta machinery), which takes ~100 ms of a VMM's start-up.
     */
    public record VmManifest(String name, String namespace, String uid, VirtualMachineSpec spec) {
        public static VmManifest of(VirtualMachine vm) {
            var m = vm.getMetadata();
            return new VmManifest(m == null ? null : m.getName(), m == null ? null : m.getNamespace(),
                    m == null ? null : m.getUid(), vm.getSpec());
        }
    }

    private static final java.util.Set<String> TOP_LEVEL = java.util.Set.of("apiVersion", "kind", "metadata", "spec", "status");

    /** As {@link #read(Path)}, for the VMM: the same checks, the same messages, a lighter result. */
    public static VmManifest readVm(Path file) throws ManifestException {
        return parseVm(readText(file));
    }

    public static VmManifest parseVm(String text) throws ManifestException {
        ObjectMapper mapper = mapperFor(text);
        com.fasterxml.jackson.databind.JsonNode root;
        try {
            root = mapper.readTree(text);
        } catch (JacksonException e) {
            throw new ManifestException("", "not valid YAML: " + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new ManifestException("", "the manifest is empty");
        }
        if (!root.isObject()) {
            throw new ManifestException("", "a manifest is a mapping with apiVersion, kind, metadata and spec");
        }
        for (java.util.Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!TOP_LEVEL.contains(f)) {
                throw new ManifestException(f, "unknown field '" + f + "'");
            }
        }
        String kind = text(root, "kind");
        if (kind != null && !"VirtualMachine".equals(kind)) {
            throw new ManifestException("kind", "expected VirtualMachine, got " + kind);
        }
        String apiVersion = text(root, "apiVersion");
        String expected = VirtualMachine.GROUP + "/" + VirtualMachine.VERSION;
        if (apiVersion != null && !expected.equals(apiVersion)) {
            throw new ManifestException("apiVersion", "expected " + expected + ", got " + apiVersion);
        }
        com.fasterxml.jackson.databind.JsonNode meta = root.path("metadata");
        if (!meta.isMissingNode() && !meta.isNull() && !meta.isObject()) {
            throw new ManifestException("metadata", "must be a mapping");
        }
        com.fasterxml.jackson.databind.JsonNode spec = root.get("spec");
        if (spec == null || spec.isNull()) {
            throw new ManifestException("spec", "is required");
        }
        checkQuantityTypes(spec);
        VirtualMachineSpec s;
        try {
            s = mapper.treeToValue(spec, VirtualMachineSpec.class);
        } catch (JsonMappingException e) {
            throw mappingError(e, "spec");
        } catch (JacksonException e) {
            throw new ManifestException("spec", e.getOriginalMessage());
        }
        return new VmManifest(text(meta, "name"), text(meta, "namespace"), text(meta, "uid"), s);
    }

    /**
     * The quantities are int-or-string in the schema: a fraction written as a number (YAML's {@code 1.5e9}) is refused
     * by the API server, though fabric8's Quantity would read it.
     */
    private static void checkQuantityTypes(com.fasterxml.jackson.databind.JsonNode spec) throws ManifestException {
        checkIntOrString(spec.path("memory"), "spec.memory");
        checkIntOrString(spec.path("serial").path("historyBytes"), "spec.serial.historyBytes");
    }

    private static void checkIntOrString(com.fasterxml.jackson.databind.JsonNode v, String field) throws ManifestException {
        if (!v.isMissingNode() && !v.isNull() && !v.isIntegralNumber() && !v.isTextual()) {
            throw new ManifestException(field, "Invalid value: \"" + v.getNodeType().name().toLowerCase(java.util.Locale.ROOT)
                    + "\": must be of type integer or string");
        }
    }

    private static String text(com.fasterxml.jackson.databind.JsonNode n, String field) throws ManifestException {
        com.fasterxml.jackson.databind.JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isValueNode()) {
            throw new ManifestException(field, "must be a string");
        }
        return v.asText();
    }

    private static String join(String prefix, String path) {
        return path.isEmpty() ? prefix : path.startsWith("[") ? prefix + path : prefix + "." + path;
    }

    public static String toJson(VirtualMachine vm) {
        try {
            return Json.MAPPER.writeValueAsString(vm);
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
