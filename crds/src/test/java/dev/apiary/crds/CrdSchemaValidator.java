package dev.apiary.crds;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelFunctionDecl;
import dev.cel.common.CelOverloadDecl;
import dev.cel.common.CelValidationResult;
import dev.cel.common.types.OpaqueType;
import dev.cel.common.types.SimpleType;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelRuntime;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the API server does with a VirtualMachine's spec, done from the generated CRD alone: a structural OpenAPI
 * validator for the keywords the CRD uses (type, required, enum, minimum, maximum, pattern, minLength, maxLength,
 * maxItems) and the {@code x-kubernetes-validations} CEL rules, compiled and evaluated by Google's CEL for Java with
 * the Kubernetes quantity library functions the rules call ({@code isQuantity}, {@code quantity}, {@code compareTo},
 * {@code sign}). Messages are worded as the API server's field errors (without the path it repeats inside some).
 *
 * <p>Not a copy of the API server: it knows only the keywords this CRD uses, and fails on any other so that a new
 * keyword cannot slip past {@link ValidationAgreementTest} unchecked.
 */
final class CrdSchemaValidator {
    /** One refusal: the field path, the message, and which rule of the schema gave it (for coverage). */
    record Problem(String path, String message, String rule) {}

    private static final Set<String> KNOWN = Set.of("type", "properties", "required", "items", "enum", "minimum",
            "maximum", "pattern", "minLength", "maxLength", "maxItems", "x-kubernetes-validations", "description",
            "default", "anyOf", "x-kubernetes-int-or-string", "additionalProperties");
    private static final OpaqueType QUANTITY_TYPE = OpaqueType.create("kubernetes.Quantity");
    /** apimachinery resource.ParseQuantity's grammar. */
    private static final Pattern QUANTITY = Pattern.compile(
            "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$");

    private final JsonNode schema;
    private final Cel cel;
    private final Map<String, CelRuntime.Program> programs = new LinkedHashMap<>();

    CrdSchemaValidator(JsonNode specSchema) {
        this.schema = specSchema;
        this.cel = CelFactory.standardCelBuilder()
                .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
                .addVar("self", SimpleType.DYN)
                .addFunctionDeclarations(
                        CelFunctionDecl.newFunctionDeclaration("isQuantity",
                                CelOverloadDecl.newGlobalOverload("is_quantity_string", SimpleType.BOOL, SimpleType.STRING)),
                        CelFunctionDecl.newFunctionDeclaration("quantity",
                                CelOverloadDecl.newGlobalOverload("quantity_string", QUANTITY_TYPE, SimpleType.STRING)),
                        CelFunctionDecl.newFunctionDeclaration("compareTo",
                                CelOverloadDecl.newMemberOverload("quantity_compareTo_quantity", SimpleType.INT,
                                        QUANTITY_TYPE, QUANTITY_TYPE)),
                        CelFunctionDecl.newFunctionDeclaration("sign",
                                CelOverloadDecl.newMemberOverload("quantity_sign", SimpleType.INT, QUANTITY_TYPE)))
                .addFunctionBindings(
                        CelFunctionBinding.from("is_quantity_string", String.class, s -> QUANTITY.matcher(s).matches()),
                        CelFunctionBinding.from("quantity_string", String.class, CrdSchemaValidator::quantity),
                        CelFunctionBinding.from("quantity_compareTo_quantity", Amount.class, Amount.class,
                                (a, b) -> (long) a.value().compareTo(b.value())),
                        CelFunctionBinding.from("quantity_sign", Amount.class, a -> (long) a.value().signum()))
                .build();
    }

    /** A quantity's value, the runtime form of the opaque kubernetes.Quantity type. */
    record Amount(BigDecimal value) {}

    private static Amount quantity(String s) {
        if (!QUANTITY.matcher(s).matches()) throw new IllegalArgumentException("not a quantity: " + s);
        return new Amount(io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(
                new io.fabric8.kubernetes.api.model.Quantity(s)));
    }

    /** Every problem in {@code spec} (the manifest's spec member), as the API server would report them. */
    List<Problem> validate(JsonNode spec) {
        List<Problem> out = new ArrayList<>();
        walk(schema, spec, "spec", "spec", out);
        return out;
    }

    /** Every rule of the schema, named as {@link Problem#rule()} names them. */
    Set<String> rules() {
        Set<String> out = new LinkedHashSet<>();
        listRules(schema, "spec", out);
        return out;
    }

    private static void listRules(JsonNode s, String at, Set<String> out) {
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KNOWN.contains(k)) throw new IllegalStateException(at + ": keyword " + k + " is not checked here");
            switch (k) {
                case "enum", "minimum", "maximum", "pattern", "minLength", "maxLength", "maxItems" -> out.add(at + ":" + k);
                case "required" -> s.get(k).forEach(r -> out.add(at + ":required:" + r.asText()));
                case "x-kubernetes-validations" -> s.get(k).forEach(r -> out.add(at + ":cel:" + r.path("rule").asText()));
                case "properties" -> s.get(k).fields().forEachRemaining(e -> listRules(e.getValue(),
                        at + "." + e.getKey(), out));
                case "items" -> listRules(s.get(k), at + "[]", out);
                case "additionalProperties" -> listRules(s.get(k), at + ".*", out);
                default -> { }
            }
        }
    }

    private void walk(JsonNode s, JsonNode v, String path, String rulePath, List<Problem> out) {
        if (v == null || v.isNull()) return;
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KNOWN.contains(k)) throw new IllegalStateException(rulePath + ": keyword " + k + " is not checked here");
        }
        String type = s.path("type").asText("");
        boolean intOrString = s.path("x-kubernetes-int-or-string").asBoolean(false);
        if (!typeMatches(type, intOrString, v)) {
            out.add(new Problem(path, "Invalid value: " + quote(jsonType(v)) + ": must be of type "
                    + (intOrString ? "integer or string" : type), rulePath + ":type"));
            return;
        }
        if (s.has("enum")) {
            boolean found = false;
            List<String> allowed = new ArrayList<>();
            for (JsonNode e : s.get("enum")) {
                allowed.add(quote(e.asText()));
                found |= e.equals(v);
            }
            if (!found) {
                out.add(new Problem(path, "Unsupported value: " + render(v) + ": supported values: "
                        + String.join(", ", allowed), rulePath + ":enum"));
            }
        }
        if (v.isIntegralNumber()) {
            if (s.has("minimum") && v.asLong() < s.get("minimum").asDouble()) {
                out.add(new Problem(path, "Invalid value: " + v.asLong() + ": should be greater than or equal to "
                        + s.get("minimum").asLong(), rulePath + ":minimum"));
            }
            if (s.has("maximum") && v.asLong() > s.get("maximum").asDouble()) {
                out.add(new Problem(path, "Invalid value: " + v.asLong() + ": should be less than or equal to "
                        + s.get("maximum").asLong(), rulePath + ":maximum"));
            }
        }
        if (v.isTextual()) {
            String t = v.asText();
            if (s.has("maxLength") && t.codePointCount(0, t.length()) > s.get("maxLength").asInt()) {
                out.add(new Problem(path, "Too long: may not be longer than " + s.get("maxLength").asInt(),
                        rulePath + ":maxLength"));
            }
            if (s.has("minLength") && t.codePointCount(0, t.length()) < s.get("minLength").asInt()) {
                out.add(new Problem(path, "Invalid value: " + quote(t) + ": should be at least "
                        + s.get("minLength").asInt() + " chars long", rulePath + ":minLength"));
            }
            // OpenAPI patterns are ECMA-262 and unanchored (a search); the CRD's carry their own anchors.
            if (s.has("pattern") && !Pattern.compile(s.get("pattern").asText()).matcher(t).find()) {
                out.add(new Problem(path, "Invalid value: " + quote(t) + ": should match '" + s.get("pattern").asText()
                        + "'", rulePath + ":pattern"));
            }
        }
        if (v.isArray()) {
            if (s.has("maxItems") && v.size() > s.get("maxItems").asInt()) {
                out.add(new Problem(path, "Too many: " + v.size() + ": must have at most " + s.get("maxItems").asInt()
                        + " items", rulePath + ":maxItems"));
            }
            for (int i = 0; i < v.size(); i++) {
                walk(s.path("items"), v.get(i), path + "[" + i + "]", rulePath + "[]", out);
            }
        }
        if (v.isObject()) {
            for (JsonNode r : s.path("required")) {
                if (!v.has(r.asText()) || v.get(r.asText()).isNull()) {
                    out.add(new Problem(path + "." + r.asText(), "Required value", rulePath + ":required:" + r.asText()));
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                JsonNode sub = s.path("properties").get(f.getKey());
                if (sub != null) {
                    walk(sub, f.getValue(), path + "." + f.getKey(), rulePath + "." + f.getKey(), out);
                } else if (s.has("additionalProperties")) {
                    walk(s.get("additionalProperties"), f.getValue(), path + "." + f.getKey(), rulePath + ".*", out);
                } else {
                    // The API server prunes (or, with strict field validation, refuses) unknown fields.
                    out.add(new Problem(path + "." + f.getKey(), "unknown field", rulePath + ":unknown"));
                }
            }
        }
        for (JsonNode r : s.path("x-kubernetes-validations")) {
            String rule = r.path("rule").asText();
            Object result;
            try {
                result = program(rule).eval(Map.of("self", toCel(v)));
            } catch (Exception e) {
                out.add(new Problem(path, "rule evaluation error: " + e.getMessage(), rulePath + ":cel:" + rule));
                continue;
            }
            if (!Boolean.TRUE.equals(result)) {
                String message = r.has("message") ? r.get("message").asText() : "failed rule: " + rule;
                String reason = r.path("reason").asText("FieldValueInvalid");
                String body = switch (reason) {
                    case "FieldValueRequired" -> "Required value: " + message;
                    case "FieldValueForbidden" -> "Forbidden: " + message;
                    case "FieldValueDuplicate" -> "Duplicate value: " + schemaTypeOrValue(type, v);
                    default -> "Invalid value: " + schemaTypeOrValue(type, v) + ": " + message;
                };
                out.add(new Problem(path, body, rulePath + ":cel:" + rule));
            }
        }
    }

    private CelRuntime.Program program(String rule) throws Exception {
        CelRuntime.Program p = programs.get(rule);
        if (p == null) {
            CelValidationResult compiled = cel.compile(rule);
            if (compiled.hasError()) throw new IllegalStateException("rule does not compile: " + compiled.getErrorString());
            p = cel.createProgram(compiled.getAst());
            programs.put(rule, p);
        }
        return p;
    }

    /** How a CEL failure shows the value: a scalar as given, a structure by its schema type (the older servers' form). */
    private static String schemaTypeOrValue(String type, JsonNode v) {
        return v.isObject() ? quote("object") : v.isArray() ? quote("array") : render(v);
    }

    private static String render(JsonNode v) {
        return v.isTextual() ? quote(v.asText()) : v.toString();
    }

    private static String quote(String s) {
        return SpecValidation.quote(s);
    }

    private static boolean typeMatches(String type, boolean intOrString, JsonNode v) {
        if (intOrString) return v.isIntegralNumber() || v.isTextual();
        return switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "integer" -> v.isIntegralNumber();
            case "number" -> v.isNumber();
            case "string" -> v.isTextual();
            case "boolean" -> v.isBoolean();
            default -> true;
        };
    }

    private static String jsonType(JsonNode v) {
        return v.isObject() ? "object" : v.isArray() ? "array" : v.isIntegralNumber() ? "integer" : v.isNumber() ? "number"
                : v.isTextual() ? "string" : v.isBoolean() ? "boolean" : "null";
    }

    /** JSON as CEL sees it: maps, lists, int64, strings, bools, doubles. */
    private static Object toCel(JsonNode v) {
        if (v.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            v.fields().forEachRemaining(e -> m.put(e.getKey(), toCel(e.getValue())));
            return m;
        }
        if (v.isArray()) {
            List<Object> l = new ArrayList<>();
            v.forEach(e -> l.add(toCel(e)));
            return l;
        }
        if (v.isIntegralNumber()) return v.asLong();
        if (v.isNumber()) return v.asDouble();
        if (v.isBoolean()) return v.asBoolean();
        return v.asText();
    }
}
