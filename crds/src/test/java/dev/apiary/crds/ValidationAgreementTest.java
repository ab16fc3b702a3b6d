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
import dev.apiary.crds.ManifestCorpus.Case;
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
    private static CrdSchemaValidator crd;
    private static final Set<String> hit = new TreeSet<>();

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
    @MethodSource("dev.apiary.crds.ManifestCorpus#bad")
    void bothRefuseWithTheSamePathsAndMessages(Case c) throws Exception {
        List<String> server = apiServer(c.yaml());
        assertFalse(server.isEmpty(), "the CRD accepts " + c.name());
        server.forEach(p -> assertFalse(p.contains("rule evaluation error"), p));
        assertEquals(server, java(c.yaml(), SpecValidation.Scope.CLUSTER), c.name());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.apiary.crds.ManifestCorpus#valid")
    void bothAccept(Case c) throws Exception {
        assertEquals(List.of(), apiServer(c.yaml()), c.name());
        assertEquals(List.of(), java(c.yaml(), SpecValidation.Scope.CLUSTER), c.name());
    }

    /**
     * vmm run's scope differs from the CRD's in two ways only: cpus and memory may be left out, and image paths are
     * any file on the host. Every other refusal is the same.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.apiary.crds.ManifestCorpus#bad")
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
    @MethodSource("dev.apiary.crds.ManifestCorpus#wrongTypes")
    void wrongTypesAtTheSamePath(Case c) throws Exception {
        List<String> server = apiServer(c.yaml()).stream().map(p -> p.substring(0, p.indexOf(": "))).toList();
        assertEquals(1, server.size(), c.name() + ": " + server);
        List<String> mine = java(c.yaml(), SpecValidation.Scope.CLUSTER);
        assertEquals(1, mine.size(), c.name() + ": " + mine);
        assertTrue(mine.get(0).startsWith(server.get(0) + ": "), c.name() + ": " + mine + " vs " + server);
    }

    /** Every rule of the CRD is exercised by some case of the corpus. */
    @Test
    void everyRuleOfTheCrdHasACase() throws Exception {
        for (Case c : ManifestCorpus.bad().toList()) apiServer(c.yaml());
        Set<String> missing = new LinkedHashSet<>(crd.rules());
        missing.removeAll(hit);
        assertEquals(Set.of(), missing, "rules of the CRD that no case of the corpus breaks");
    }
}
