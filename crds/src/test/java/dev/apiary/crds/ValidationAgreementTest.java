package dev.apiary.crds;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One validation of a manifest for every entry point: what {@code vmm run} and the operator check
 * ({@link Manifests} then {@link SpecValidation}) against what the API server checks (the generated CRD's OpenAPI
 * schema and CEL rules, evaluated by {@link CrdSchemaValidator}). For every case of a corpus of bad manifests both
 * must give the same field paths with the same messages, and every rule in the CRD must be hit by some case, so a
 * rule added to the model without its Java check (or the reverse) fails here.
 */
class ValidationAgreementTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final String GOOD = """
            apiVersion: apiary.dev/v1alpha1
            kind: VirtualMachine
            metadata: {name: t, namespace: default}
            spec:
              cpus: 2
              memory: 1Gi
              boot: {kernel: {path: vmlinuz, initrd: initrd.img}}
              disks: [{name: root, image: {path: disks/web.img}}, {name: data, image: {path: ..data/x.img}}]
              networks: [{name: default, model: virtio, backend: tap, macAddress: "52:54:00:12:34:56"}]
            """;
    private static final String LONG = "a".repeat(4097);
    private static CrdSchemaValidator crd;
    private static final Set<String> hit = new TreeSet<>();

    record Case(String name, String yaml) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Case bad(String name, String from, String to) {
        assertTrue(GOOD.contains(from), from);
        return new Case(name, GOOD.replace(from, to));
    }

    private static Case add(String name, String specLines) {
        return new Case(name, GOOD + specLines);
    }

    static Stream<Case> corpus() {
        String kernel = "{kernel: {path: vmlinuz, initrd: initrd.img}}";
        String disks = "[{name: root, image: {path: disks/web.img}}, {name: data, image: {path: ..data/x.img}}]";
        String nets = "[{name: default, model: virtio, backend: tap, macAddress: \"52:54:00:12:34:56\"}]";
        List<Case> c = new ArrayList<>(List.of(
                bad("boot required", "  boot: " + kernel + "\n", ""),
                bad("cpus required", "  cpus: 2\n", ""),
                bad("memory required", "  memory: 1Gi\n", ""),
                bad("nothing required given", "  cpus: 2\n  memory: 1Gi\n  boot: " + kernel + "\n", ""),
                add("accelerator enum", "  accelerator: TCG\n"),
                add("runStrategy enum", "  runStrategy: Sometimes\n"),
                add("rebootPolicy enum", "  rebootPolicy: Panic\n"),
                bad("boot both", kernel, "{kernel: {path: vmlinuz}, firmware: {path: OVMF.fd}}"),
                bad("boot neither", kernel, "{}"),
                bad("firmware path required", kernel, "{firmware: {}}"),
                bad("firmware path pattern", kernel, "{firmware: {path: /usr/share/OVMF.fd}}"),
                bad("firmware path maxLength", kernel, "{firmware: {path: " + LONG + "}}"),
                bad("kernel path required", kernel, "{kernel: {cmdline: quiet}}"),
                bad("kernel path pattern", "path: vmlinuz", "path: ../vmlinuz"),
                bad("kernel path maxLength", "path: vmlinuz", "path: " + LONG),
                bad("initrd pattern", "initrd.img", "/boot/initrd.img"),
                bad("initrd pattern dot segment", "initrd.img", "a/./initrd.img"),
                bad("initrd maxLength", "initrd.img", LONG),
                bad("cpus minimum", "cpus: 2", "cpus: 0"),
                bad("cpus maximum", "cpus: 2", "cpus: 65"),
                bad("memory below 64Mi", "memory: 1Gi", "memory: 63Mi"),
                bad("memory int below 64Mi", "memory: 1Gi", "memory: 67108863"),
                bad("memory not a quantity", "memory: 1Gi", "memory: lots"),
                bad("memory two suffixes", "memory: 1Gi", "memory: 1GiB"),
                bad("memory negative", "memory: 1Gi", "memory: -1Gi"),
                bad("disks maxItems", disks, "[" + String.join(", ", Stream.iterate(0, i -> i + 1).limit(17)
                        .map(i -> "{name: d" + i + ", image: {path: d" + i + ".img}}").toList()) + "]"),
                bad("disk names unique", "name: data", "name: root"),
                bad("disk blockSize", "{name: root, image: {path: disks/web.img}}",
                        "{name: root, blockSize: 1024, image: {path: disks/web.img}}"),
                bad("disk bus enum", "{name: root, image: {path: disks/web.img}}",
                        "{name: root, bus: virtio, image: {path: disks/web.img}}"),
                bad("disk image required", "{name: root, image: {path: disks/web.img}}", "{name: root}"),
                bad("disk name required", "{name: root, image: {path: disks/web.img}}", "{image: {path: disks/web.img}}"),
                bad("disk image path required", "{name: root, image: {path: disks/web.img}}", "{name: root, image: {}}"),
                bad("disk image path pattern", "disks/web.img", "disks/../../etc/shadow"),
                bad("disk image path maxLength", "disks/web.img", LONG),
                bad("disk name pattern", "name: root", "name: Root_1"),
                add("display height minimum", "  display: {height: 63}\n"),
                add("display height maximum", "  display: {height: 8193}\n"),
                add("display width minimum", "  display: {width: 10}\n"),
                add("display width maximum", "  display: {width: 100000, height: 768, vnc: true}\n"),
                add("lifecycleRequest action required", "  lifecycleRequest: {id: \"1\"}\n"),
                add("lifecycleRequest id required", "  lifecycleRequest: {action: Start}\n"),
                add("lifecycleRequest action enum", "  lifecycleRequest: {action: Pause, id: \"1\"}\n"),
                add("lifecycleRequest id minLength", "  lifecycleRequest: {action: Start, id: \"\"}\n"),
                add("lifecycleRequest id maxLength", "  lifecycleRequest: {action: Stop, id: \"" + "x".repeat(129) + "\"}\n"),
                bad("networks maxItems", nets, "[" + String.join(", ", Stream.iterate(0, i -> i + 1).limit(9)
                        .map(i -> "{name: n" + i + "}").toList()) + "]"),
                bad("network names unique", nets, "[{name: a}, {name: b}, {name: a}]"),
                bad("network name required", nets, "[{model: virtio}]"),
                bad("network backend pattern", "backend: tap", "backend: passt0"),
                bad("network macAddress pattern", "52:54:00:12:34:56", "52:54:00:12:34"),
                bad("network model pattern", "model: virtio", "model: e1000"),
                bad("network name pattern", "name: default", "name: -default"),
                bad("network tapName pattern", "backend: tap", "backend: tap, tapName: a-very-long-tap-name"),
                add("serial historyBytes negative", "  serial: {historyBytes: -1Mi}\n"),
                add("serial historyBytes negative int", "  serial: {historyBytes: -5}\n"),
                add("serial historyBytes not a quantity", "  serial: {historyBytes: a lot}\n"),
                new Case("many at once", """
                        spec:
                          cpus: 99
                          memory: 1Mi
                          boot: {kernel: {path: /vmlinuz}, firmware: {path: x}}
                          disks: [{name: a, image: {path: ../a}}, {name: a, blockSize: 1, image: {path: b}}]
                          networks: [{name: N, macAddress: zz}]
                          display: {width: 1, height: 9999}
                        """)));
        return c.stream();
    }

    static Stream<Case> valid() {
        return Stream.of(new Case("good", GOOD),
                new Case("firmware boot, smallest memory as an int", """
                        spec: {cpus: 1, memory: 67108864, boot: {firmware: {path: fw/OVMF_CODE.fd}}}
                        """),
                new Case("every optional field", """
                        spec:
                          runStrategy: Manual
                          accelerator: Emulated
                          rebootPolicy: Stop
                          cpus: 64
                          memory: 64Mi
                          boot: {kernel: {path: .k/vmlinuz, initrd: ...x, cmdline: "console=ttyS0"}}
                          disks: [{name: a-1, bus: nvme, readOnly: true, blockSize: 4096, image: {path: a}}]
                          networks: [{name: n, model: virtio, backend: tap, tapName: tap_0.x-1, macAddress: "AA:bb:cc:dd:ee:ff"}]
                          serial: {historyBytes: 0}
                          display: {vnc: true, width: 64, height: 8192}
                          nodeSelector: {zone: a}
                          lifecycleRequest: {action: Restart, id: "1700000000"}
                        """),
                new Case("quantities in other forms", """
                        spec: {cpus: 1, memory: "1e9", boot: {kernel: {path: k}}, serial: {historyBytes: 64Ki}}
                        """));
    }

    @BeforeAll
    static void loadCrd() throws Exception {
        JsonNode doc = YAML.readTree(Path.of("target/classes/META-INF/fabric8/virtualmachines.apiary.dev-v1.yml").toFile());
        crd = new CrdSchemaValidator(doc.at("/spec/versions/0/schema/openAPIV3Schema/properties/spec"));
    }

    /** What the API server would say: "path: message" for each problem, sorted. */
    private static List<String> apiServer(String yaml) throws Exception {
        List<CrdSchemaValidator.Problem> problems = crd.validate(YAML.readTree(yaml).path("spec"));
        problems.forEach(p -> hit.add(p.rule()));
        return problems.stream().map(p -> p.path() + ": " + p.message()).sorted().toList();
    }

    /** What vmm run and the operator say, in the given scope. */
    private static List<String> java(String yaml, SpecValidation.Scope scope) {
        try {
            Manifests.VmManifest vm = Manifests.parseVm(yaml);
            return SpecValidation.problems(vm.spec(), scope).stream().map(ManifestException::getMessage).sorted().toList();
        } catch (ManifestException e) {
            return List.of(e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void bothRefuseWithTheSamePathsAndMessages(Case c) throws Exception {
        List<String> server = apiServer(c.yaml());
        assertFalse(server.isEmpty(), "the CRD accepts " + c.name());
        server.forEach(p -> assertFalse(p.contains("rule evaluation error"), p));
        assertEquals(server, java(c.yaml(), SpecValidation.Scope.CLUSTER), c.name());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valid")
    void bothAccept(Case c) throws Exception {
        assertEquals(List.of(), apiServer(c.yaml()), c.name());
        assertEquals(List.of(), java(c.yaml(), SpecValidation.Scope.CLUSTER), c.name());
    }

    /**
     * vmm run's scope differs from the CRD's in two ways only: cpus and memory may be left out, and image paths are
     * any file on the host. Every other refusal is the same.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void vmmRunWaivesOnlyTheNodeRules(Case c) throws Exception {
        List<String> cluster = java(c.yaml(), SpecValidation.Scope.CLUSTER);
        List<String> local = java(c.yaml(), SpecValidation.Scope.LOCAL);
        assertTrue(cluster.containsAll(local), c.name() + ": " + local + " not within " + cluster);
        for (String waived : cluster) {
            if (local.contains(waived)) continue;
            boolean nodeRule = waived.startsWith("spec.cpus: Required") || waived.startsWith("spec.memory: Required")
                    || waived.contains("should match '" + VirtualMachineSpec.RELATIVE_PATH + "'");
            assertTrue(nodeRule, c.name() + ": vmm run waived " + waived);
        }
    }

    /**
     * A value of the wrong JSON type: the API server's schema refuses it ("must be of type"), the manifest reader
     * refuses it while binding (its own words), at the same path.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("wrongTypes")
    void wrongTypesAtTheSamePath(Case c) throws Exception {
        List<String> server = apiServer(c.yaml()).stream().map(p -> p.substring(0, p.indexOf(": "))).toList();
        assertEquals(1, server.size(), c.name() + ": " + server);
        List<String> mine = java(c.yaml(), SpecValidation.Scope.CLUSTER);
        assertEquals(1, mine.size(), c.name() + ": " + mine);
        assertTrue(mine.get(0).startsWith(server.get(0) + ": "), c.name() + ": " + mine + " vs " + server);
    }

    static Stream<Case> wrongTypes() {
        return Stream.of(bad("cpus a fraction", "cpus: 2", "cpus: 2.5"),
                bad("cpus a string", "cpus: 2", "cpus: two"),
                bad("memory a fraction", "memory: 1Gi", "memory: 1.5e9"),
                bad("disks an object", "disks: [{name: root, image: {path: disks/web.img}}, {name: data, image: {path: "
                        + "..data/x.img}}]", "disks: {name: root}"),
                bad("readOnly a string", "{name: root, image", "{name: root, readOnly: maybe, image"),
                bad("boot a string", "boot: {kernel: {path: vmlinuz, initrd: initrd.img}}", "boot: vmlinuz"));
    }

    /** Every rule of the CRD is exercised by some case of the corpus. */
    @Test
    void everyRuleOfTheCrdHasACase() throws Exception {
        for (Case c : corpus().toList()) apiServer(c.yaml());
        Set<String> missing = new LinkedHashSet<>(crd.rules());
        missing.removeAll(hit);
        assertEquals(Set.of(), missing, "rules of the CRD that no case of the corpus breaks");
    }
}
