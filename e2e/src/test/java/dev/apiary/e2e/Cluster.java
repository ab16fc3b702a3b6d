package dev.apiary.e2e;

import dev.apiary.agent.AgentRuntime;
import dev.apiary.agent.AgentSettings;
import dev.apiary.agent.node.HostFacts;
import dev.apiary.agent.it.MockApiServer;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.operator.lifecycle.Backoff;
import dev.apiary.operator.runtime.OperatorMetrics;
import dev.apiary.operator.runtime.OperatorRuntime;
import dev.apiary.operator.runtime.OperatorSettings;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * One node's worth of Apiary in one JVM: the mock API server (CRUD mode, TokenReview/SAR by expectation), the
 * operator, and an agent that runs real VMM processes ({@code bin/vmm launch}) with guest-kit images. Used by the
 * end-to-end test and by bench/e2e.
 */
public final class Cluster implements AutoCloseable {
    public static final String NODE = "node-e2e";
    public final MockApiServer api = new MockApiServer();
    public final Path root;
    public final Path work;
    private final Vertx vertx = Vertx.vertx();
    private OperatorRuntime operator;
    private KubernetesClient operatorClient;
    private AgentRuntime agent;
    private KubernetesClient agentClient;

    public Cluster(Path work) throws IOException {
        this.root = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath().normalize();
        this.work = work;
        Path images = work.resolve("images");
        Files.createDirectories(images);
        Files.copy(kitImage(root), images.resolve("apiary-kit.bzImage"));
    }

    /**
     * Why this host cannot run the test, or null: the VMM and guest kit must be built, and {@code vmm doctor} must
     * offer some accelerator (KVM, or the software CPU on hosts without it).
     */
    public static String unusableReason(Path root) {
        if (!Files.exists(root.resolve("vmm/target/classpath.txt"))) return "the VMM is not built (mvn -DskipTests install)";
        if (!Files.exists(kitImage(root))) return "the guest kit is not built (guestkit/target/apiary-kit.bzImage)";
        HostFacts f = hostFacts(root);
        if (f.accelerators() == null || !f.canRunVms()) {
            return "vmm doctor offers no accelerator on this host: " + (f.accelerators() == null ? f.reason()
                    : f.accelerators().stream().map(a -> a.name() + ": " + a.reason()).toList());
        }
        return null;
    }

    /** What {@code bin/vmm doctor --json} says of this host, read as the agent reads it. */
    public static HostFacts hostFacts(Path root) {
        return HostFacts.probe(HostFacts.basic(), List.of(root.resolve("bin/vmm").toString()));
    }

    static Path kitImage(Path root) {
        return root.resolve("guestkit/target/apiary-kit.bzImage");
    }

    public Cluster startOperator() {
        operatorClient = api.newClient();
        OperatorSettings s = OperatorSettings.defaults().withHeartbeatTimeout(Duration.ofSeconds(30))
                .withBackoff(new Backoff(Duration.ofMillis(200), Duration.ofSeconds(2)));
        operator = new OperatorRuntime(operatorClient, s, Clock.systemUTC(), new OperatorMetrics(new SimpleMeterRegistry()));
        operator.start();
        return this;
    }

    public AgentSettings agentSettings() {
        return AgentSettings.defaults(NODE, work.resolve("images"), work.resolve("run"),
                        List.of(root.resolve("bin/vmm").toString()))
                .withListen("127.0.0.1", 0).withEndpoint("https://127.0.0.1:{port}")
                .withTimings(Duration.ofSeconds(2), Duration.ofMillis(500), Duration.ofSeconds(5))
                .withReviewCacheTtl(Duration.ofSeconds(1))
                // Guest-kit VMs mostly sleep: offer more vCPUs than the CI machine's 2 cores so 10 VMs fit.
                .withCapacity(32, 512L << 20, java.util.Map.of());
    }

    public AgentRuntime startAgent() throws IOException {
        return startAgent(s -> s);
    }

    /** Starts the agent with {@link #agentSettings()} adjusted (a VM network, say). */
    public AgentRuntime startAgent(UnaryOperator<AgentSettings> adjust) throws IOException {
        agentClient = api.newClient();
        agent = new AgentRuntime(agentClient, adjust.apply(agentSettings()), vertx);
        agent.start();
        return agent;
    }

    public void stopAgent() {
        agent.stop();
        agentClient.close();
        agent = null;
    }

    public AgentRuntime agent() {
        return agent;
    }

    public VirtualMachine apply(String yaml) {
        return api.client.resources(VirtualMachine.class).load(new ByteArrayInputStream(yaml.getBytes())).create();
    }

    public VirtualMachine vm(String name) {
        return api.client.resources(VirtualMachine.class).inNamespace("default").withName(name).get();
    }

    /** A guest-kit VM that boots, prints its markers and stays up (kit.exit=halt). */
    public static String vmYaml(String name, String strategy) {
        return """
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata:
                  name: %s
                  namespace: default
                  annotations: {apiary.dev/stop-grace-period: 1s}
                spec:
                  runStrategy: %s
                  cpus: 1
                  memory: 64Mi
                  boot:
                    kernel:
                      path: apiary-kit.bzImage
                      cmdline: "console=ttyS0 kit.tests=banner,cpus kit.exit=halt"
                """.formatted(name, strategy);
    }

    @Override
    public void close() throws Exception {
        if (agent != null) stopAgent();
        if (operator != null) operator.stop();
        if (operatorClient != null) operatorClient.close();
        // No VMM may outlive the test.
        if (Files.exists(work.resolve("run"))) {
            try (var s = Files.walk(work.resolve("run"))) {
                for (Path p : s.filter(p -> p.getFileName().toString().equals("vmm.pid")).toList()) {
                    try {
                        ProcessHandle.of(Long.parseLong(Files.readString(p).trim())).ifPresent(ProcessHandle::destroyForcibly);
                    } catch (IOException | NumberFormatException ignored) {
                        // gone
                    }
                }
            }
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        api.close();
    }
}
