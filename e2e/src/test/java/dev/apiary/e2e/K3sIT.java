package dev.apiary.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.agent.AgentRuntime;
import dev.apiary.agent.AgentSettings;
import dev.apiary.agent.it.FakeVmm;
import dev.apiary.crds.ManifestCorpus;
import dev.apiary.crds.ManifestException;
import dev.apiary.crds.Manifests;
import dev.apiary.crds.SpecValidation;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmPhase;
import dev.apiary.operator.runtime.OperatorMetrics;
import dev.apiary.operator.runtime.OperatorRuntime;
import dev.apiary.operator.runtime.OperatorSettings;
import io.fabric8.kubernetes.api.model.StatusCause;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The optional K3s profile ({@code mvn -pl e2e -am verify -Pk3s}): what the mock API server cannot show, against a
 * real API server (K3s in a container, through Testcontainers' k3s module). The CRDs as generated (accepted by a real
 * server, CEL rules compiled within its cost budget), the API server's own refusals of the bad-manifest corpus at the
 * same field paths as SpecValidation's, and the operator and agent (with {@link FakeVmm}) bringing a VM to Ready as
 * {@code kubectl wait --for=condition=Ready} sees it. Where no Docker engine answers, every test is skipped and says
 * so; nothing here runs against the mock.
 */
class K3sIT {
    static final String IMAGE = "rancher/k3s:v1.31.4-k3s1";
    private static K3sContainer k3s;
    private static KubernetesClient client;
    /** Why there is no K3s cluster here, or null. */
    private static String unavailable;

    @BeforeAll
    static void startK3s() {
        unavailable = dockerUnavailable();
        if (unavailable != null) {
            System.out.println("K3sIT: SKIPPED, no K3s cluster: " + unavailable);
            return;
        }
        k3s = new K3sContainer(DockerImageName.parse(IMAGE));
        k3s.start();
        client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml())).build();
        for (String crd : List.of("virtualmachines.apiary.dev-v1.yml", "vmmnodes.apiary.dev-v1.yml")) {
            client.apiextensions().v1().customResourceDefinitions()
                    .load(K3sIT.class.getResourceAsStream("/META-INF/fabric8/" + crd)).serverSideApply();
        }
        client.apiextensions().v1().customResourceDefinitions().withName("virtualmachines.apiary.dev")
                .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions().stream()
                        .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())), 60,
                        TimeUnit.SECONDS);
    }

    /** Why Testcontainers cannot start a container here, or null. */
    static String dockerUnavailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable() ? null
                    : "Testcontainers found no Docker engine (no /var/run/docker.sock, DOCKER_HOST unset or not answering)";
        } catch (RuntimeException | LinkageError e) {
            return "Testcontainers could not look for a Docker engine: " + e;
        }
    }

    /** Each test is skipped (so surefire counts it as such, with the reason) where no K3s cluster could start. */
    @BeforeEach
    void needsK3s() {
        Assumptions.assumeTrue(unavailable == null, () -> "SKIPPED: the K3s tests need a Docker engine for Testcontainers"
                + " and none answers here (" + unavailable + "); nothing ran against a real API server");
    }

    @AfterAll
    static void stopK3s() {
        if (client != null) client.close();
        if (k3s != null) k3s.stop();
    }

    /** The API server's refusal of a manifest: the field paths of its causes (dry run, nothing is stored). */
    private static List<String> serverRefusal(String yaml) {
        try {
            client.resource(yaml).dryRun().create();
            return List.of();
        } catch (KubernetesClientException e) {
            assertEquals(422, e.getCode(), e.getMessage());
            List<String> out = new ArrayList<>();
            if (e.getStatus() != null && e.getStatus().getDetails() != null) {
                for (StatusCause c : e.getStatus().getDetails().getCauses()) {
                    System.out.println("K3sIT:   " + c.getField() + ": " + c.getMessage());
                    out.add(c.getField());
                }
            }
            return out;
        }
    }

    private static List<String> javaRefusal(String yaml) {
        try {
            return SpecValidation.problems(Manifests.parseVm(yaml).spec()).stream().map(ManifestException::field).toList();
        } catch (ManifestException e) {
            return List.of(e.field());
        }
    }

    @Test
    void theApiServerRefusesTheCorpusAtSpecValidationsPaths() {
        List<String> disagree = new ArrayList<>();
        for (ManifestCorpus.Case c : ManifestCorpus.bad().toList()) {
            System.out.println("K3sIT: " + c.name());
            var server = new TreeSet<>(serverRefusal(c.yaml()));
            var java = new TreeSet<>(javaRefusal(c.yaml()));
            if (!server.equals(java)) disagree.add(c.name() + ": API server " + server + ", SpecValidation " + java);
        }
        for (ManifestCorpus.Case c : ManifestCorpus.valid().toList()) {
            assertEquals(List.of(), serverRefusal(c.yaml()), c.name());
        }
        assertEquals(List.of(), disagree);
    }

    @TempDir
    Path tmp;

    @Test
    void operatorAndAgentBringAVmToReadyAsKubectlWaitSeesIt() throws Exception {
        KubernetesClient opClient = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml()))
                .build();
        OperatorRuntime op = new OperatorRuntime(opClient, OperatorSettings.defaults(), Clock.systemUTC(),
                new OperatorMetrics(new SimpleMeterRegistry()));
        op.start();
        Vertx vertx = Vertx.vertx();
        KubernetesClient agentClient = new KubernetesClientBuilder()
                .withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml())).build();
        Files.createDirectories(tmp.resolve("images"));
        Files.write(tmp.resolve("images/kit.bzImage"), new byte[4096]);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        AgentRuntime agent = new AgentRuntime(agentClient, AgentSettings.defaults("k3s-node", tmp.resolve("images"),
                        tmp.resolve("run"), List.of(java, "-cp", System.getProperty("java.class.path"),
                                FakeVmm.class.getName()))
                .withListen("127.0.0.1", 0).withEndpoint("https://127.0.0.1:{port}")
                .withCapacity(8, 512L << 20, Map.of()), vertx);
        agent.start();
        try {
            client.resource("""
                    apiVersion: apiary.dev/v1alpha1
                    kind: VirtualMachine
                    metadata: {name: k3s-vm, namespace: default}
                    spec:
                      cpus: 1
                      memory: 64Mi
                      boot: {kernel: {path: kit.bzImage, cmdline: "console=ttyS0"}}
                    """).create();
            var wait = k3s.execInContainer("kubectl", "wait", "--for=condition=Ready", "vm/k3s-vm", "--timeout=120s");
            assertEquals(0, wait.getExitCode(), wait.getStdout() + wait.getStderr());
            VirtualMachine vm = client.resources(VirtualMachine.class).inNamespace("default").withName("k3s-vm").get();
            assertEquals(VmPhase.Running, vm.getStatus().phase);
            var get = k3s.execInContainer("kubectl", "get", "vm", "k3s-vm");
            System.out.println("K3sIT: kubectl get vm\n" + get.getStdout());
            assertTrue(get.getStdout().contains("Running"), get.getStdout());
            client.resources(VirtualMachine.class).inNamespace("default").withName("k3s-vm").delete();
            var gone = k3s.execInContainer("kubectl", "wait", "--for=delete", "vm/k3s-vm", "--timeout=60s");
            assertEquals(0, gone.getExitCode(), gone.getStdout() + gone.getStderr());
        } finally {
            agent.stop();
            agentClient.close();
            op.stop();
            opClient.close();
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            try (var s = Files.walk(tmp)) {
                for (Path p : s.filter(p -> p.getFileName().toString().equals("vmm.pid")).toList()) {
                    ProcessHandle.of(Long.parseLong(Files.readString(p, StandardCharsets.UTF_8).trim()))
                            .ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        }
    }
}
