package dev.apiary.agent.it;

import dev.apiary.agent.AgentRuntime;
import dev.apiary.agent.AgentSettings;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * An agent as an OS process of its own, for tests that kill it (SIGKILL) and start a new one: {@code AgentProcess
 * API-URL NODE RUNTIME-ROOT IMAGE-ROOT PORT}. The VMM is {@link FakeVmm}, launched with the default launcher (setsid).
 * Runs until killed.
 */
public final class AgentProcess {
    public static void main(String[] args) throws Exception {
        KubernetesClient client = new KubernetesClientBuilder()
                .withConfig(new ConfigBuilder().withMasterUrl(args[0]).withTrustCerts(true).build()).build();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> vmm = List.of(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                FakeVmm.class.getName());
        AgentSettings settings = AgentSettings.defaults(args[1], Path.of(args[3]), Path.of(args[2]), vmm)
                .withListen("127.0.0.1", Integer.parseInt(args[4])).withEndpoint("https://127.0.0.1:{port}")
                .withTimings(Duration.ofMillis(500), Duration.ofMillis(300), Duration.ofSeconds(2))
                .withReviewCacheTtl(Duration.ofMillis(1));
        new AgentRuntime(client, settings, Vertx.vertx()).start();
        System.out.println("agent-process: started, pid " + ProcessHandle.current().pid());
        Thread.currentThread().join();
    }
}
