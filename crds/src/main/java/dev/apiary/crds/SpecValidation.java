package dev.apiary.crds;

import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The CRD's validation rules (the OpenAPI schema and the CEL rules the generator writes from the annotations on
 * {@link VirtualMachineSpec}), checked again in Java: by the operator, because an API server older than the rules or a
 * manifest written around it must not reach a node, and by {@code vmm run}, which has no API server at all.
 *
 * <p>Each problem names its field and is worded as the API server words it ({@code Required value},
 * {@code Invalid value: 65: should be less than or equal to 64}, a CEL rule's own message), so a manifest refused by
 * {@code vmm run} and by {@code kubectl apply} reads the same. The crds test {@code ValidationAgreementTest} evaluates
 * the generated schema and CEL rules on a corpus of bad manifests and checks that both give the same paths and
 * messages, for every rule in the CRD.
 */
public final class SpecValidation {
    private static final Pattern RELATIVE_PATH = Pattern.compile(VirtualMachineSpec.RELATIVE_PATH);
    private static final Pattern NAME = Pattern.compile(VirtualMachineSpec.NAME);
    /**
     * Kubernetes' quantity grammar (apimachinery resource.ParseQuantity): a signed decimal number and a binary-SI,
     * decimal-SI or exponent suffix. What CEL's {@code isQuantity} accepts; fabric8's parser is more lenient.
     */
    private static final Pattern QUANTITY = Pattern.compile(
            "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$");
    private static final String TAP = "^tap$";
    private static final String VIRTIO = "^virtio$";
    private static final String MAC = "^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$";
    private static final String TAP_NAME = "^[A-Za-z0-9_.-]{1,15}$";
    /** The schema's patterns, compiled once (the operator validates every VM on every decision). */
    private static final Map<String, Pattern> PATTERNS = Map.of(VirtualMachineSpec.RELATIVE_PATH, RELATIVE_PATH,
            VirtualMachineSpec.NAME, NAME, TAP, Pattern.compile(TAP), VIRTIO, Pattern.compile(VIRTIO),
            MAC, Pattern.compile(MAC), TAP_NAME, Pattern.compile(TAP_NAME));
    private static final BigDecimal MIN_MEMORY_BYTES = BigDecimal.valueOf(64L << 20);
    private static final int MAX_PATH = 4096;

    /** Which rules apply. */
    public enum Scope {
        /** The CRD's rules, all of them: the operator, and what the API server enforces. */
        CLUSTER,
        /**
         * {@code vmm run} on a workstation: the CRD's rules except two that only a node needs. {@code cpus} and
         * {@code memory} may be left out (the VMM's defaults apply), and image paths are files on this host (absolute,
         * or relative to the manifest, {@code ..} allowed): there is no image root to stay below.
         */
        LOCAL
    }

    private SpecValidation() {}

    /** Every problem the CRD's rules find, fields in alphabetical order as the schema lists them; empty when valid. */
    public static List<ManifestException> problems(VirtualMachineSpec spec) {
        return problems(spec, Scope.CLUSTER);
    }

    /** Every problem the rules of {@code scope} find; empty when the spec is valid. */
    public static List<ManifestException> problems(VirtualMachineSpec spec, Scope scope) {
        Checks out = new Checks(scope);
        if (spec == null) {
            out.required("spec");
            return out.list;
        }
        out.checkBoot(spec.boot);
        if (spec.cpus == null) {
            if (scope == Scope.CLUSTER) out.required("spec.cpus");
        } else {
            out.range("spec.cpus", spec.cpus, VirtualMachineSpec.MIN_CPUS, VirtualMachineSpec.MAX_CPUS);
        }
        out.checkDisks(spec.disks);
        if (spec.display != null) {
            int min = VirtualMachineSpec.Display.MIN_SIZE;
            int max = VirtualMachineSpec.Display.MAX_SIZE;
            if (spec.display.height != null) out.range("spec.display.height", spec.display.height, min, max);
            if (spec.display.width != null) out.range("spec.display.width", spec.display.width, min, max);
        }
        out.checkLifecycleRequest(spec.lifecycleRequest);
        if (spec.memory == null) {
            if (scope == Scope.CLUSTER) out.required("spec.memory");
        } else if (!atLeast(spec.memory, MIN_MEMORY_BYTES)) {
            out.rule("spec.memory", render(spec.memory), VirtualMachineSpec.MEMORY_MESSAGE);
        }
        out.checkNetworks(spec.networks);
        if (spec.serial != null && spec.serial.historyBytes != null && !atLeast(spec.serial.historyBytes, BigDecimal.ZERO)) {
            out.rule("spec.serial.historyBytes", render(spec.serial.historyBytes), VirtualMachineSpec.HISTORY_MESSAGE);
        }
        return out.list;
    }

    /** Whether {@code path} stays below the image root (the CRD's pattern): relative, no '.', '..' or empty segment. */
    public static boolean isRelativePath(String path) {
        return path != null && path.length() <= MAX_PATH && RELATIVE_PATH.matcher(path).matches();
    }

    /** Whether {@code text} is a Kubernetes quantity, as CEL's {@code isQuantity} decides. */
    public static boolean isQuantity(String text) {
        return text != null && QUANTITY.matcher(text).matches();
    }

    /** As the CEL rules on quantities: a quantity (int or string) whose value is at least {@code min} bytes. */
    private static boolean atLeast(Quantity q, BigDecimal min) {
        String text = text(q);
        if (!isQuantity(text)) return false;
        try {
            return Quantity.getAmountInBytes(q).compareTo(min) >= 0;
        } catch (IllegalArgumentException | ArithmeticException e) {
            return false;
        }
    }

    private static String text(Quantity q) {
        return Objects.toString(q.getAmount(), "") + Objects.toString(q.getFormat(), "");
    }

    /** A quantity as the API server shows the value: a number bare (an int in the manifest), a string quoted. */
    private static Object render(Quantity q) {
        String text = text(q);
        return (q.getFormat() == null || q.getFormat().isEmpty()) && text.matches("-?[0-9]+") ? (Object) Long.valueOf(text)
                : text;
    }

    /** The problems found so far, worded as Kubernetes' field errors (apimachinery's field.Error bodies). */
    private static final class Checks {
        final List<ManifestException> list = new ArrayList<>();
        final Scope scope;

        Checks(Scope scope) {
            this.scope = scope;
        }

        void required(String field) {
            list.add(new ManifestException(field, "Required value"));
        }

        void invalid(String field, Object value, String detail) {
            list.add(new ManifestException(field, "Invalid value: " + quote(value) + ": " + detail));
        }

        /** A CEL rule's refusal: the rule's message, the value a scalar as given or the schema type of a structure. */
        void rule(String field, Object value, String message) {
            invalid(field, value, message);
        }

        void range(String field, int value, int min, int max) {
            if (value < min) invalid(field, value, "should be greater than or equal to " + min);
            if (value > max) invalid(field, value, "should be less than or equal to " + max);
        }

        /** As OpenAPI's {@code pattern}: an unanchored search (the CRD's patterns carry their own anchors). */
        void pattern(String field, String value, String regex) {
            Pattern p = PATTERNS.get(regex);
            if (!(p != null ? p : Pattern.compile(regex)).matcher(value).find()) {
                invalid(field, value, "should match '" + regex + "'");
            }
        }

        void maxLength(String field, String value, int max) {
            if (value.length() > max) list.add(new ManifestException(field, "Too long: may not be longer than " + max));
        }

        void minLength(String field, String value, int min) {
            if (value.length() < min) invalid(field, value, "should be at least " + min + " chars long");
        }

        void maxItems(String field, List<?> items, int max) {
            if (items.size() > max) {
                list.add(new ManifestException(field, "Too many: " + items.size() + ": must have at most " + max + " items"));
            }
        }

        void imagePath(String field, String path, boolean required) {
            if (path == null) {
                if (required) required(field);
                return;
            }
            maxLength(field, path, MAX_PATH);
            if (scope == Scope.CLUSTER) pattern(field, path, VirtualMachineSpec.RELATIVE_PATH);
        }

        void checkBoot(VirtualMachineSpec.Boot boot) {
            if (boot == null) {
                required("spec.boot");
                return;
            }
            if ((boot.kernel == null) == (boot.firmware == null)) rule("spec.boot", "object", VirtualMachineSpec.BOOT_MESSAGE);
            if (boot.firmware != null) {
                imagePath("spec.boot.firmware.path", boot.firmware.path, true);
                imagePath("spec.boot.firmware.vars", boot.firmware.vars, false);
            }
            if (boot.kernel != null) {
                imagePath("spec.boot.kernel.initrd", boot.kernel.initrd, false);
                imagePath("spec.boot.kernel.path", boot.kernel.path, true);
            }
        }

        void checkDisks(List<VirtualMachineSpec.Disk> disks) {
            if (disks == null) return;
            maxItems("spec.disks", disks, VirtualMachineSpec.MAX_DISKS);
            if (!unique(disks.stream().map(d -> d == null ? null : d.name).toList())) {
                rule("spec.disks", "array", VirtualMachineSpec.DISK_NAMES_MESSAGE);
            }
            for (int i = 0; i < disks.size(); i++) {
                VirtualMachineSpec.Disk d = disks.get(i);
                String f = "spec.disks[" + i + "]";
                if (d == null) {
                    invalid(f, "null", "must be of type object");
                    continue;
                }
                if (d.blockSize != null && d.blockSize != 512 && d.blockSize != 4096) {
                    rule(f + ".blockSize", d.blockSize, VirtualMachineSpec.BLOCK_SIZE_MESSAGE);
                }
                if (d.image == null) required(f + ".image");
                else imagePath(f + ".image.path", d.image.path, true);
                if (d.name == null) required(f + ".name");
                else pattern(f + ".name", d.name, VirtualMachineSpec.NAME);
            }
        }

        void checkNetworks(List<VirtualMachineSpec.Network> networks) {
            if (networks == null) return;
            maxItems("spec.networks", networks, VirtualMachineSpec.MAX_NETWORKS);
            if (!unique(networks.stream().map(n -> n == null ? null : n.name).toList())) {
                rule("spec.networks", "array", VirtualMachineSpec.NETWORK_NAMES_MESSAGE);
            }
            for (int i = 0; i < networks.size(); i++) {
                VirtualMachineSpec.Network n = networks.get(i);
                String f = "spec.networks[" + i + "]";
                if (n == null) {
                    invalid(f, "null", "must be of type object");
                    continue;
                }
                if (n.backend != null) pattern(f + ".backend", n.backend, TAP);
                if (n.macAddress != null) pattern(f + ".macAddress", n.macAddress, MAC);
                if (n.model != null) pattern(f + ".model", n.model, VIRTIO);
                if (n.name == null) required(f + ".name");
                else pattern(f + ".name", n.name, VirtualMachineSpec.NAME);
                if (n.tapName != null) pattern(f + ".tapName", n.tapName, TAP_NAME);
            }
        }

        void checkLifecycleRequest(VirtualMachineSpec.LifecycleRequest r) {
            if (r == null) return;
            if (r.action == null) required("spec.lifecycleRequest.action");
            if (r.id == null) {
                required("spec.lifecycleRequest.id");
            } else {
                maxLength("spec.lifecycleRequest.id", r.id, 128);
                minLength("spec.lifecycleRequest.id", r.id, 1);
            }
        }
    }

    /** As the CRD's rule on disk and network names: no name twice (items without a name are not compared). */
    private static boolean unique(List<String> names) {
        return names.stream().filter(Objects::nonNull).collect(Collectors.groupingBy(n -> n, Collectors.counting()))
                .values().stream().allMatch(c -> c == 1);
    }

    /** A value as apimachinery's field errors print it: strings quoted (Go's %q), numbers bare. */
    static String quote(Object value) {
        if (!(value instanceof String s)) return String.valueOf(value);
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\x%02x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    /** The values an enum field accepts, as the API server lists them: sorted, quoted. */
    static String supported(Class<? extends Enum<?>> type) {
        return Arrays.stream(type.getEnumConstants()).map(Enum::name).sorted().map(SpecValidation::quote)
                .collect(Collectors.joining(", "));
    }
}
