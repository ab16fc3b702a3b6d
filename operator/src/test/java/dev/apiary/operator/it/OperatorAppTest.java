package dev.apiary.operator.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmPhase;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * The operator as the Quarkus application it ships as (CDI wiring, configuration, leader election, health and
 * metrics endpoints) against the mock API server: a VM is scheduled onto a node and run by a fake agent.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = OperatorAppTest.Crds.class)
class OperatorAppTest {
    /** The CRDs exist before the application starts, as they do after `kubectl apply -k deploy/`. */
    public static final class Crds implements Consumer<KubernetesServer> {
        @Override
        public void accept(KubernetesServer server) {
            KubernetesClient c = server.getClient();
            for (String crd : List.of("virtualmachines.apiary.dev-v1.yml", "vmmnodes.apiary.dev-v1.yml")) {
                c.apiextensions().v1().customResourceDefinitions()
                        .load(OperatorAppTest.class.getResourceAsStream("/META-INF/fabric8/" + crd)).create();
            }
        }
    }

    @KubernetesTestServer
    KubernetesServer server;

    @Inject
    KubernetesClient client;

    @ConfigProperty(name = "quarkus.http.test-port", defaultValue = "8081")
    int port;

    private int get(String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode();
    }

    @Test
    void schedulesAndRunsAVmAndServesHealthAndMetrics() throws Exception {
        try (FakeAgent agent = new FakeAgent(server.getClient(), "node-q", 4, "8Gi", Map.of()).startHeartbeats()
                .startRunning()) {
            client.resources(VirtualMachine.class).load(new java.io.ByteArrayInputStream(
                    MockCluster.vmYaml("app", "Always", 2, "1Gi").getBytes())).create();
            VirtualMachine vm = MockCluster.await("app Running on node-q",
                    () -> client.resources(VirtualMachine.class).inNamespace("default").withName("app").get(),
                    v -> v.getStatus() != null && "node-q".equals(v.getStatus().nodeName)
                            && v.getStatus().phase == VmPhase.Running, Duration.ofSeconds(60));
            assertEquals(1L, vm.getStatus().runId);
            assertEquals(200, get("/q/health/live"));
            assertEquals(200, get("/q/health/ready"));
            assertEquals(200, get("/q/metrics"));
        }
    }
}
