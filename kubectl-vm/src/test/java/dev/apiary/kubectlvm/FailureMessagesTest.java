package dev.apiary.kubectlvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineStatus;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every failure before the agent answers is one line: not found, not scheduled, agent unreachable. */
class FailureMessagesTest {
    KubernetesMockServer server;
    NamespacedKubernetesClient client;

    @BeforeEach
    void setUp() {
        server = new KubernetesMockServer(new io.fabric8.mockwebserver.Context(),
                new io.fabric8.mockwebserver.MockWebServer(), new java.util.HashMap<>(),
                new dev.apiary.crds.mock.StrictCrudDispatcher(), false);
        server.init();
        client = server.createClient();
        for (String crd : List.of("virtualmachines.apiary.dev-v1.yml", "vmmnodes.apiary.dev-v1.yml")) {
            client.apiextensions().v1().customResourceDefinitions()
                    .load(getClass().getResourceAsStream("/META-INF/fabric8/" + crd)).create();
        }
        client.resources(VirtualMachine.class).load(new ByteArrayInputStream("""
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata: {name: web, namespace: default}
                spec: {cpus: 1, memory: 64Mi, boot: {kernel: {path: k}}}
                """.getBytes())).create();
    }

    @AfterEach
    void tearDown() {
        client.close();
        server.destroy();
    }

    String fails(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] all = new String[args.length + 4];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(new String[] {"-n", "default", "--token", "t"}, 0, all, args.length, 4);
        int rc = KubectlVm.run(all, server::createClient, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true));
        assertEquals(1, rc, err.toString());
        assertEquals(1, err.toString().strip().lines().count(), err.toString());
        return err.toString();
    }

    @Test
    void notFound() {
        assertTrue(fails("logs", "nosuch").contains("virtualmachine \"nosuch\" not found in namespace default"));
        assertTrue(fails("stop", "nosuch").contains("not found"));
    }

    @Test
    void notScheduled() {
        assertTrue(fails("console", "web").contains("VM web is not scheduled to a node"));
    }

    @Test
    void agentUnreachable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        VirtualMachine vm = client.resources(VirtualMachine.class).inNamespace("default").withName("web").get();
        vm.setStatus(new VirtualMachineStatus());
        vm.getStatus().nodeName = "node-a";
        vm.getStatus().agent = new VirtualMachineStatus.Agent();
        vm.getStatus().agent.endpoint = "https://127.0.0.1:" + port;
        client.resources(VirtualMachine.class).inNamespace("default").resource(vm).updateStatus();
        String e = fails("logs", "web");
        assertTrue(e.contains("cannot reach the agent of node node-a at https://127.0.0.1:" + port), e);
    }

    /** Points the VM at an agent that answers every request with {@code status} and {@code body}. */
    private HttpServer fakeAgent(int status, String type, byte[] body) throws Exception {
        HttpServer agent = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        agent.createContext("/", ex -> {
            ex.getResponseHeaders().set("Content-Type", type);
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        agent.start();
        VirtualMachine vm = client.resources(VirtualMachine.class).inNamespace("default").withName("web").get();
        vm.setStatus(new VirtualMachineStatus());
        vm.getStatus().nodeName = "node-a";
        vm.getStatus().agent = new VirtualMachineStatus.Agent();
        vm.getStatus().agent.endpoint = "http://127.0.0.1:" + agent.getAddress().getPort();
        client.resources(VirtualMachine.class).inNamespace("default").resource(vm).updateStatus();
        return agent;
    }

    @Test
    void vncAndScreenshotOfAVmWithoutADisplay() throws Exception {
        var agent = fakeAgent(409, "application/json", "{\"error\":\"this VM has no display (spec.display)\"}".getBytes());
        try {
            assertTrue(fails("vnc", "web").contains("VM web: this VM has no display (spec.display)"));
            assertTrue(fails("screenshot", "web", "-o", "unused.png").contains("VM web: this VM has no display"));
        } finally {
            agent.stop(0);
        }
    }

    @Test
    void aScreenshotThatIsNotAPngIsNotWritten(@TempDir Path dir) throws Exception {
        var agent = fakeAgent(200, "text/html", "<html>a proxy's page</html>".getBytes());
        try {
            Path out = dir.resolve("s.png");
            assertTrue(fails("screenshot", "web", "-o", out.toString()).contains("did not send a PNG"));
            assertTrue(Files.notExists(out));
        } finally {
            agent.stop(0);
        }
    }
}
