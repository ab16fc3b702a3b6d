package dev.apiary.agent.it;

import static dev.apiary.agent.it.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineSpec;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VirtualMachineStatus.DesiredState;
import dev.apiary.crds.VmPhase;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.ByteArrayInputStream;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VMs outlive the agent across a real process boundary: the agent is an OS process ({@link AgentProcess}), killed
 * with SIGKILL (no shutdown hook, nothing closed) and started again as a new process. The VMM it launched keeps its
 * pid, the new agent adopts it from the runtime directory, and the serial history and the console continue without
 * a gap: the offsets before the kill are still valid after it, and input typed into the new agent's console reaches
 * the same guest. (With the setsid launcher; the host-systemd launcher needs systemd as PID 1, which this machine
 * lacks: docs/agent.md.)
 */
class AgentProcessIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String NODE = "node-p";
    @TempDir
    Path tmp;
    MockApiServer api;
    final List<Process> agents = new ArrayList<>();

    @BeforeEach
    void setUp() {
        api = new MockApiServer().token("alice-token", "alice").grant("alice", "get", "default", "*")
                .grant("alice", "update", "default", "*");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : agents) p.destroyForcibly().waitFor();
        try (var s = Files.walk(tmp)) {
            for (Path p : s.filter(p -> p.getFileName().toString().equals("vmm.pid")).toList()) {
                ProcessHandle.of(Long.parseLong(Files.readString(p).trim())).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        api.close();
    }

    @Test
    void aVmOutlivesItsAgentKilledWithSigkillAndTheNextAgentProcessAdoptsIt() throws Exception {
        int port = freePort();
        Process first = startAgent(port, "agent-1.log");
        create("web");
        operate("web", DesiredState.Running, 1);
        long pid = awaitRunning("web").getStatus().vmm.pid;
        assertTrue(isChild(first, pid), "the first agent launched the VMM as its child");

        // Type into the console; the guest echoes. Note where the history ends.
        AgentClient c1 = new AgentClient("https://127.0.0.1:" + port);
        AgentClient.Console con = c1.console("/v1/vms/default/web/serial/stream?from=0", "alice-token");
        await("history on the console", con.output::toString, s -> s.contains("KIT banner ok"), 10_000);
        con.ws.sendBinary(ByteBuffer.wrap("before".getBytes(StandardCharsets.UTF_8)), true).get();
        await("echo before the kill", con.output::toString, s -> s.contains("echo:before\n"), 10_000);
        HttpResponse<String> h1 = c1.get("/v1/vms/default/web/serial?from=0", "alice-token");
        long endBefore = Long.parseLong(h1.headers().firstValue("X-Serial-End").orElseThrow());
        assertEquals(h1.body().length(), endBefore);

        // SIGKILL the agent's process: no shutdown hook runs, the VMM is left to itself.
        first.destroyForcibly();
        assertEquals(137, first.waitFor());
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the VMM survived the agent");
        String vmmCmdline = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"));
        assertFalse(vmmCmdline.isEmpty(), "the VMM runs (not a zombie)");

        // A new agent process adopts it: same pid, Running, the API answers for it.
        Process second = startAgent(port, "agent-2.log");
        AgentClient c2 = new AgentClient("https://127.0.0.1:" + port);
        JsonNode view = await("the new agent sees the VMM", () -> get(c2, "/v1/vms/default/web"),
                v -> v != null && v.path("vmm").path("alive").asBoolean(), 30_000);
        assertEquals(pid, view.path("vmm").path("pid").asLong());
        assertEquals(VmPhase.Running, vm("web").getStatus().phase);
        assertEquals(pid, vm("web").getStatus().vmm.pid);
        assertFalse(isChild(second, pid), "adopted, not relaunched");

        // The history is continuous: what was there before the kill is unchanged at the same offsets.
        HttpResponse<String> h2 = c2.get("/v1/vms/default/web/serial?from=0", "alice-token");
        assertTrue(h2.body().startsWith(h1.body()), h2.body());
        // The console resumes where the old one stopped: the first byte after the kill is offset endBefore.
        AgentClient.Console con2 = c2.console("/v1/vms/default/web/serial/stream?from=" + endBefore, "alice-token");
        String hello = con2.received.poll(10, TimeUnit.SECONDS);
        assertTrue(hello != null && hello.startsWith("T:{\"offset\":" + endBefore), hello);
        con2.ws.sendBinary(ByteBuffer.wrap("after".getBytes(StandardCharsets.UTF_8)), true).get();
        await("echo after the restart", con2.output::toString, s -> s.startsWith("echo:after\n"), 10_000);
        HttpResponse<String> h3 = c2.get("/v1/vms/default/web/serial?from=0", "alice-token");
        assertEquals(h1.body() + "echo:after\n", h3.body());
        assertEquals(pid, ProcessHandle.of(pid).orElseThrow().pid());

        // The adopted VMM obeys the new agent: stop it through the operator's fields.
        operate("web", DesiredState.Stopped, 1);
        VirtualMachine vm = await("web stopped", () -> vm("web"), v -> v.getStatus().phase == VmPhase.Stopped, 20_000);
        assertEquals("Stopped", vm.getStatus().exit.reason);
        await("the VMM ended", () -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), a -> !a, 10_000);
    }

    Process startAgent(int port, String log) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "-Djava.util.logging.manager=org.jboss.logmanager.LogManager", AgentProcess.class.getName(),
                api.client.getMasterUrl().toString(), NODE, tmp.resolve("run").toString(),
                tmp.resolve("images").toString(), Integer.toString(port))
                .redirectErrorStream(true).redirectOutput(tmp.resolve(log).toFile()).start();
        agents.add(p);
        await("agent " + log + " listening", () -> {
            try (var s = new java.net.Socket("127.0.0.1", port)) {
                return true;
            } catch (java.io.IOException e) {
                if (!p.isAlive()) throw new AssertionError("agent exited: " + read(tmp.resolve(log)));
                return false;
            }
        }, up -> up, 60_000);
        return p;
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    static boolean isChild(Process agent, long pid) {
        return agent.toHandle().children().anyMatch(h -> h.pid() == pid);
    }

    static JsonNode get(AgentClient c, String path) {
        try {
            HttpResponse<String> r = c.get(path, "alice-token");
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (Exception e) {
            return null;
        }
    }

    static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    void create(String name) {
        String yaml = """
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata:
                  name: %s
                  namespace: default
                  labels: {apiary.dev/node: %s}
                  annotations: {apiary.dev/stop-grace-period: 300ms}
                spec:
                  runStrategy: Manual
                  accelerator: Emulated
                  cpus: 1
                  memory: 64Mi
                  boot: {kernel: {path: kit.bzImage, cmdline: "fake.acpi=1"}}
                """.formatted(name, NODE);
        api.client.resources(VirtualMachine.class).load(new ByteArrayInputStream(yaml.getBytes())).create();
    }

    VirtualMachine vm(String name) {
        return api.client.resources(VirtualMachine.class).inNamespace("default").withName(name).get();
    }

    VirtualMachine awaitRunning(String name) {
        return await(name + " Running", () -> vm(name), v -> v.getStatus() != null
                && v.getStatus().phase == VmPhase.Running && v.getStatus().vmm != null, 30_000);
    }

    /** What the operator writes to start run runId (or, with Stopped, to stop). */
    void operate(String name, DesiredState desired, long runId) {
        edit(name, st -> {
            st.nodeName = NODE;
            st.desiredState = desired;
            st.runId = runId;
            st.runSpec = JSON.convertValue(vm(name).getSpec(), VirtualMachineSpec.class);
            if (desired == DesiredState.Running && st.phase != VmPhase.Running) st.phase = VmPhase.Scheduled;
            return st;
        });
    }

    void edit(String name, UnaryOperator<VirtualMachineStatus> f) {
        for (int i = 0; i < 10; i++) {
            try {
                VirtualMachine vm = vm(name);
                vm.setStatus(f.apply(vm.getStatus() == null ? new VirtualMachineStatus() : vm.getStatus()));
                api.client.resources(VirtualMachine.class).inNamespace("default").resource(vm).updateStatus();
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) throw e;
            }
        }
    }
}
