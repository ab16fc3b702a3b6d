package dev.apiary.agent.it;

import static dev.apiary.agent.it.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.agent.AgentRuntime;
import dev.apiary.agent.AgentSettings;
import dev.apiary.agent.node.NodeRegistration;
import dev.apiary.crds.Accelerator;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.Labels;
import dev.apiary.crds.MergePatch;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineSpec;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VirtualMachineStatus.DesiredState;
import dev.apiary.crds.VmPhase;
import dev.apiary.crds.VmmNode;
import dev.apiary.crds.VmmNodeStatus;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent against the mock API server, with {@link FakeVmm} processes (no KVM needed): the test plays the operator
 * by writing desiredState and runId. The end-to-end test with the real operator and VMM is in the e2e module.
 */
class AgentIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String NODE = "node-a";
    /** What this host really has: the fake VMM, like the real one, offers KVM only where /dev/kvm can be opened. */
    static final boolean HOST_HAS_KVM = Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm"));
    @TempDir
    Path tmp;
    MockApiServer api;
    Vertx vertx;
    AgentRuntime agent;
    KubernetesClient agentClient;

    @BeforeEach
    void setUp() {
        api = new MockApiServer().token("alice-token", "alice").token("bob-token", "bob")
                .grant("alice", "get", "default", "*").grant("alice", "update", "default", "*")
                .grant("alice", "list", "default", "*");
        vertx = Vertx.vertx();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) agent.stop();
        if (agentClient != null) agentClient.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        // Leave no VMM behind.
        try (var s = Files.walk(tmp)) {
            for (Path p : s.filter(p -> p.getFileName().toString().equals("vmm.pid")).toList()) {
                ProcessHandle.of(Long.parseLong(Files.readString(p).trim())).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        api.close();
    }

    AgentSettings settings() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> vmm = List.of(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                FakeVmm.class.getName());
        return AgentSettings.defaults(NODE, tmp.resolve("images"), tmp.resolve("run"), vmm)
                .withListen("127.0.0.1", 0).withEndpoint("https://127.0.0.1:{port}")
                .withTimings(Duration.ofMillis(500), Duration.ofMillis(300), Duration.ofSeconds(2))
                .withReviewCacheTtl(Duration.ofMillis(1));
    }

    void startAgent() throws Exception {
        agentClient = api.newClient();
        agent = new AgentRuntime(agentClient, settings(), vertx);
        agent.start();
    }

    void restartAgent() throws Exception {
        agent.stop();
        agentClient.close();
        startAgent();
    }

    VirtualMachine create(String name, String cmdline) {
        return create(name, cmdline, "Auto");
    }

    VirtualMachine create(String name, String cmdline, String accelerator) {
        String yaml = """
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata:
                  name: %s
                  namespace: default
                  annotations: {apiary.dev/stop-grace-period: 300ms}
                spec:
                  runStrategy: Manual
                  accelerator: %s
                  cpus: 1
                  memory: 64Mi
                  boot: {kernel: {path: kit.bzImage, cmdline: "%s"}}
                """.formatted(name, accelerator, cmdline);
        return api.client.resources(VirtualMachine.class).load(new ByteArrayInputStream(yaml.getBytes())).create();
    }

    VirtualMachine vm(String name) {
        return api.client.resources(VirtualMachine.class).inNamespace("default").withName(name).get();
    }

    /** What the operator writes to start run runId (or, with Stopped, to stop): the status and the node label. */
    void operate(String name, DesiredState desired, long runId) {
        label(name, NODE);
        edit(name, st -> {
            st.nodeName = NODE;
            st.desiredState = desired;
            st.runId = runId;
            st.runSpec = JSON.convertValue(vm(name).getSpec(), VirtualMachineSpec.class);
            if (desired == DesiredState.Running && st.phase != VmPhase.Running) st.phase = VmPhase.Scheduled;
            return st;
        });
    }

    /** The node label, as the operator sets it with a binding (null removes it). */
    void label(String name, String node) {
        api.client.resources(VirtualMachine.class).inNamespace("default").withName(name).patch(
                PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"labels\":{\"" + Labels.NODE + "\":"
                        + (node == null ? "null" : "\"" + node + "\"") + "}}}");
    }

    /** A status write as the operator makes it: a merge patch of what changed, on the version read. */
    void edit(String name, UnaryOperator<VirtualMachineStatus> f) {
        for (int i = 0; i < 10; i++) {
            try {
                VirtualMachine vm = vm(name);
                var before = JSON.valueToTree(vm.getStatus());
                vm.setStatus(f.apply(vm.getStatus() == null ? new VirtualMachineStatus() : vm.getStatus()));
                var patch = JSON.createObjectNode();
                patch.putObject("metadata").put("resourceVersion", vm.getMetadata().getResourceVersion());
                patch.set("status", MergePatch.diff(before, JSON.valueToTree(vm.getStatus())));
                api.client.resources(VirtualMachine.class).inNamespace("default").resource(vm).subresource("status")
                        .patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
                return;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409) throw e;
            }
        }
    }

    VirtualMachine awaitPhase(String name, VmPhase phase, long runId) {
        return await(name + " " + phase + " for run " + runId, () -> vm(name), v -> v.getStatus() != null
                && v.getStatus().phase == phase && (phase == VmPhase.Running
                ? v.getStatus().vmm != null && v.getStatus().vmm.runId == runId
                : v.getStatus().exit != null && v.getStatus().exit.runId == runId), 20_000);
    }

    @Test
    void vmmNodeLabelsFollowTheNodes() throws Exception {
        api.client.nodes().resource(new io.fabric8.kubernetes.api.model.NodeBuilder().withNewMetadata().withName(NODE)
                .addToLabels("zone", "a").addToLabels("disk", "ssd").endMetadata().build()).create();
        startAgent();
        await("Node labels on the VmmNode", () -> api.client.resources(VmmNode.class).withName(NODE).get(),
                n -> n != null && "a".equals(n.getMetadata().getLabels().get("zone"))
                        && "ssd".equals(n.getMetadata().getLabels().get("disk")), 10_000);
        api.client.nodes().withName(NODE).edit(n -> {
            n.getMetadata().getLabels().put("zone", "b");
            n.getMetadata().getLabels().remove("disk");
            return n;
        });
        await("changed and removed labels follow", () -> api.client.resources(VmmNode.class).withName(NODE).get(),
                n -> "b".equals(n.getMetadata().getLabels().get("zone"))
                        && !n.getMetadata().getLabels().containsKey("disk"), 10_000);
    }

    @Test
    void runningVmsKeepRunningThroughAnApiOutageAndTheAgentCatchesUp() throws Exception {
        try (CuttableProxy proxy = new CuttableProxy(new java.net.URI(api.client.getConfiguration().getMasterUrl()).getPort())) {
            agentClient = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(
                    new io.fabric8.kubernetes.client.ConfigBuilder(api.client.getConfiguration())
                            .withMasterUrl("http://127.0.0.1:" + proxy.port()).withRequestRetryBackoffLimit(0).build())
                    .build();
            agent = new AgentRuntime(agentClient, settings(), vertx);
            agent.start();
            create("steady", "");
            create("doomed", "");
            operate("steady", DesiredState.Running, 1);
            operate("doomed", DesiredState.Running, 1);
            long steady = awaitPhase("steady", VmPhase.Running, 1).getStatus().vmm.pid;
            long doomed = awaitPhase("doomed", VmPhase.Running, 1).getStatus().vmm.pid;
            String beat = api.client.resources(VmmNode.class).withName(NODE).get().getStatus().heartbeatTime;

            proxy.cut();
            // While the API server is away: one VMM dies, the other keeps running, nothing is stopped.
            ProcessHandle.of(doomed).orElseThrow().destroyForcibly();
            Thread.sleep(3_000);
            assertTrue(ProcessHandle.of(steady).map(ProcessHandle::isAlive).orElse(false),
                    "a running VM keeps running while the API server is unreachable");
            assertEquals(VmPhase.Running, vm("doomed").getStatus().phase, "the API server heard nothing yet");

            proxy.restore();
            // The agent catches up: the crash is reported, the heartbeat resumes, the survivor is untouched.
            VirtualMachine d = awaitPhase("doomed", VmPhase.Failed, 1);
            assertEquals("VmmCrashed", d.getStatus().exit.reason);
            await("heartbeat after the outage", () -> api.client.resources(VmmNode.class).withName(NODE).get(),
                    n -> !beat.equals(n.getStatus().heartbeatTime), 20_000);
            VirtualMachine s = vm("steady");
            assertEquals(VmPhase.Running, s.getStatus().phase);
            assertEquals(steady, s.getStatus().vmm.pid);
            assertTrue(ProcessHandle.of(steady).map(ProcessHandle::isAlive).orElse(false));
        }
    }

    @Test
    void registersItsNodeAndRunsStopsAndAdoptsVms() throws Exception {
        startAgent();
        // The heartbeat after the capability probe (vmm doctor) lists both accelerators with this host's verdicts.
        VmmNode node = await("VmmNode " + NODE + " with accelerators", () -> api.client.resources(VmmNode.class)
                .withName(NODE).get(), n -> n != null && n.getStatus() != null && n.getStatus().heartbeatTime != null
                && n.getStatus().accelerators != null, 20_000);
        VmmNodeStatus.AcceleratorInfo kvm = node.getStatus().accelerators.get(0);
        VmmNodeStatus.AcceleratorInfo soft = node.getStatus().accelerators.get(1);
        assertEquals("KVM", kvm.name);
        assertEquals(HOST_HAS_KVM, kvm.available, kvm.reason);
        if (!HOST_HAS_KVM) assertTrue(kvm.reason.contains("/dev/kvm"), kvm.reason);
        assertEquals("Emulated", soft.name);
        assertTrue(soft.available);
        assertEquals(Files.exists(Path.of("/dev/kvm")), node.getStatus().kvm.present, "the old kvm block stays");
        assertEquals("True", node.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst()
                .orElseThrow().getStatus());
        assertTrue(node.getStatus().capacity.cpus > 0);
        assertEquals(agent.endpoint(), node.getStatus().endpoint);
        assertEquals(agent.certSha256(), node.getMetadata().getAnnotations().get(NodeRegistration.CERT_ANNOTATION));
        String beat = node.getStatus().heartbeatTime;
        await("a second heartbeat", () -> api.client.resources(VmmNode.class).withName(NODE).get(),
                n -> !beat.equals(n.getStatus().heartbeatTime), 5_000);

        create("web", "fake.acpi=1");
        operate("web", DesiredState.Running, 1);
        VirtualMachine vm = awaitPhase("web", VmPhase.Running, 1);
        assertTrue(vm.getMetadata().getFinalizers().contains(Finalizers.AGENT));
        long pid = vm.getStatus().vmm.pid;
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        assertEquals(12L, vm.getStatus().vmm.bootMillis);
        assertEquals(agent.endpoint(), vm.getStatus().agent.endpoint);
        assertEquals(HOST_HAS_KVM ? Accelerator.KVM : Accelerator.Emulated, vm.getStatus().accelerator,
                "Auto: KVM where usable, else the software CPU");
        assertEquals("True", vm.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst()
                .orElseThrow().getStatus());

        // The agent API: serial history, guest actions, no display.
        AgentClient c = new AgentClient(agent.endpoint());
        HttpResponse<String> serial = c.get("/v1/vms/default/web/serial", "alice-token");
        assertEquals(200, serial.statusCode(), serial.body());
        assertTrue(serial.body().contains("KIT banner ok"), serial.body());
        assertEquals("0", serial.headers().firstValue("X-Serial-Offset").orElseThrow());
        HttpResponse<String> tail = c.get("/v1/vms/default/web/serial?tail=3", "alice-token");
        assertEquals("ok\n", tail.body());
        HttpResponse<String> from = c.get("/v1/vms/default/web/serial?from=4&maxBytes=6", "alice-token");
        assertEquals("banner", from.body());
        assertEquals("10", from.headers().firstValue("X-Serial-Next").orElseThrow());
        assertEquals(202, c.post("/v1/vms/default/web/nmi", "alice-token").statusCode());
        await("NMI on the serial log", () -> body(c, "/v1/vms/default/web/serial"), b -> b.contains("KIT nmi"), 5_000);
        HttpResponse<String> shot = c.get("/v1/vms/default/web/screenshot.png", "alice-token");
        assertEquals(409, shot.statusCode());
        assertTrue(shot.body().contains("this VM has no display"), shot.body());
        assertEquals(409, c.get("/v1/vms/default/web/vnc", "alice-token").statusCode());
        HttpResponse<String> list = c.get("/v1/vms", "alice-token");
        assertTrue(list.body().contains("\"name\":\"web\""), list.body());
        assertFalse(c.get("/v1/vms", "bob-token").body().contains("web"));
        assertEquals(200, c.get("/healthz", null).statusCode());

        // Authentication and authorization; nothing leaks about VMs a caller may not see.
        assertEquals(401, c.get("/v1/vms/default/web/serial", null).statusCode());
        assertEquals(401, c.get("/v1/vms/default/web/serial", "wrong-token").statusCode());
        HttpResponse<String> bob = c.get("/v1/vms/default/web/serial", "bob-token");
        assertEquals(403, bob.statusCode());
        assertFalse(bob.body().contains("KIT"));
        assertEquals(403, c.get("/v1/vms/default/nosuch/serial", "bob-token").statusCode());
        assertEquals(404, c.get("/v1/vms/default/nosuch/serial", "alice-token").statusCode());
        api.grant("bob", "get", "default", "web");
        assertEquals(200, c.get("/v1/vms/default/web/serial", "bob-token").statusCode());
        assertEquals(403, c.post("/v1/vms/default/web/reset", "bob-token").statusCode());

        // The live console: output as it comes, input to the guest.
        AgentClient.Console con = c.console("/v1/vms/default/web/serial/stream?from=0", "alice-token");
        assertTrue(con.received.poll(5, TimeUnit.SECONDS).startsWith("T:{\"offset\":0"));
        await("history on the console", con.output::toString, s -> s.contains("KIT banner ok"), 5_000);
        con.ws.sendBinary(ByteBuffer.wrap("hi".getBytes()), true).get();
        await("echo on the console", con.output::toString, s -> s.contains("echo:hi"), 5_000);
        con.ws.sendClose(1000, "bye").get();

        // kill -9 of the VMM: the run failed, and says how.
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        vm = awaitPhase("web", VmPhase.Failed, 1);
        assertEquals("VmmCrashed", vm.getStatus().exit.reason);
        assertEquals(137, vm.getStatus().exit.exitCode);
        assertTrue(vm.getStatus().exit.message.contains("SIGKILL"), vm.getStatus().exit.message);
        await("finalizer released", () -> vm("web"), v -> !v.getMetadata().getFinalizers().contains(Finalizers.AGENT),
                5_000);

        // The operator starts run 2; the agent restarts; the VMM keeps running and is adopted.
        operate("web", DesiredState.Running, 2);
        vm = awaitPhase("web", VmPhase.Running, 2);
        long pid2 = vm.getStatus().vmm.pid;
        restartAgent();
        Thread.sleep(1000);
        vm = vm("web");
        assertEquals(VmPhase.Running, vm.getStatus().phase);
        assertEquals(pid2, vm.getStatus().vmm.pid);
        assertTrue(ProcessHandle.of(pid2).map(ProcessHandle::isAlive).orElse(false));
        assertEquals(200, new AgentClient(agent.endpoint()).get("/v1/vms/default/web/serial", "alice-token")
                .statusCode());

        // Stop: the guest answers the power button (fake.acpi=1).
        operate("web", DesiredState.Stopped, 2);
        vm = awaitPhase("web", VmPhase.Stopped, 2);
        assertEquals("Stopped", vm.getStatus().exit.reason);
        assertTrue(vm.getStatus().exit.message.contains("power button"), vm.getStatus().exit.message);
        // The VMM writes exit.json (what the agent reports) just before it exits: under load the exit comes later.
        await("VMM exited", () -> ProcessHandle.of(pid2).map(ProcessHandle::isAlive).orElse(false), alive -> !alive, 5_000);

        // Delete: runtime directory removed, finalizer released, object gone.
        String uid = vm.getMetadata().getUid();
        assertTrue(Files.exists(tmp.resolve("run").resolve(uid)));
        api.client.resources(VirtualMachine.class).inNamespace("default").withName("web").delete();
        await("web gone", () -> vm("web"), v -> v == null, 10_000);
        await("runtime directory removed", () -> Files.exists(tmp.resolve("run").resolve(uid)), e -> !e, 5_000);
    }

    @Test
    void runsEachVmWithTheAcceleratorItAsksForAndFailsKvmWhereThereIsNone() throws Exception {
        startAgent();
        create("soft", "", "Emulated");
        operate("soft", DesiredState.Running, 1);
        assertEquals(Accelerator.Emulated, awaitPhase("soft", VmPhase.Running, 1).getStatus().accelerator);

        // fake.nokvm=1: the fake VMM acts as on a host without KVM, as the real one does here when /dev/kvm is absent.
        create("native", "fake.nokvm=1", "KVM");
        operate("native", DesiredState.Running, 1);
        VirtualMachine vm = awaitPhase("native", VmPhase.Failed, 1);
        String why = "spec.accelerator: KVM is not usable on this host: /dev/kvm does not exist";
        assertEquals("BootFailed", vm.getStatus().exit.reason);
        assertEquals(2, vm.getStatus().exit.exitCode);
        assertEquals(why, vm.getStatus().exit.message);
        var ready = vm.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst().orElseThrow();
        assertEquals("False", ready.getStatus());
        assertEquals(why, ready.getMessage());
        assertNull(vm.getStatus().accelerator, "the run got no accelerator");

        create("fallback", "fake.nokvm=1", "Auto");
        operate("fallback", DesiredState.Running, 1);
        assertEquals(Accelerator.Emulated, awaitPhase("fallback", VmPhase.Running, 1).getStatus().accelerator);
    }

    @Test
    void hardStopsAGuestThatIgnoresThePowerButtonAndReportsStartFailuresAndPowerOff() throws Exception {
        startAgent();
        create("deaf", "");
        operate("deaf", DesiredState.Running, 1);
        long pid = awaitPhase("deaf", VmPhase.Running, 1).getStatus().vmm.pid;
        operate("deaf", DesiredState.Stopped, 1);
        await("Stopping", () -> vm("deaf"), v -> v.getStatus().phase == VmPhase.Stopping, 5_000);
        VirtualMachine vm = awaitPhase("deaf", VmPhase.Stopped, 1);
        assertTrue(vm.getStatus().exit.message.contains("grace"), vm.getStatus().exit.message);
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));

        create("bad", "fake.bad=1");
        operate("bad", DesiredState.Running, 1);
        vm = awaitPhase("bad", VmPhase.Failed, 1);
        assertEquals("BootFailed", vm.getStatus().exit.reason);
        assertEquals(2, vm.getStatus().exit.exitCode);
        assertTrue(vm.getStatus().exit.message.contains("no such file"), vm.getStatus().exit.message);

        create("once", "fake.exit=poweroff fake.after=200");
        operate("once", DesiredState.Running, 1);
        vm = awaitPhase("once", VmPhase.Succeeded, 1);
        assertEquals("PowerOff", vm.getStatus().exit.reason);
        assertEquals(0, vm.getStatus().exit.exitCode);
        // The history of an ended run stays readable.
        assertTrue(body(new AgentClient(agent.endpoint()), "/v1/vms/default/once/serial").contains("KIT poweroff"));
    }

    /**
     * The agent informs with the selector apiary.dev/node=NODE: a VM not labelled for this node is not in its cache
     * (the server filters), and a VM whose label and binding move to another node leaves the cache and is stopped
     * once a fresh read confirms the new binding.
     */
    @Test
    void watchesOnlyTheVmsLabelledForItsNode() throws Exception {
        startAgent();
        create("mine", "");
        create("elsewhere", "");
        label("elsewhere", "node-z");
        edit("elsewhere", st -> {
            st.nodeName = "node-z";
            st.desiredState = DesiredState.Running;
            st.runId = 1L;
            return st;
        });
        operate("mine", DesiredState.Running, 1);
        VirtualMachine vm = awaitPhase("mine", VmPhase.Running, 1);
        List<String> cached = agent.reconciler().cachedVms().stream().map(v -> v.getMetadata().getName()).toList();
        assertEquals(List.of("mine"), cached, "only VMs labelled for this node are cached");
        long pid = vm.getStatus().vmm.pid;

        // Rebound to another node (as after a node deletion): label and nodeName move together.
        label("mine", "node-z");
        edit("mine", st -> {
            st.nodeName = "node-z";
            return st;
        });
        await("left the cache", () -> agent.reconciler().cachedVms().isEmpty(), e -> e, 5_000);
        await("its VMM stopped here", () -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), a -> !a,
                15_000);
        assertNull(vm("elsewhere").getStatus().vmm, "never started a VM labelled for another node");
    }

    /**
     * Fields this agent's model does not know (a newer operator or agent wrote them, rolling upgrade) survive its
     * finalizer and status writes on the VM and its heartbeats on the VmmNode.
     */
    @Test
    void fieldsTheModelDoesNotKnowSurviveTheAgentsWrites() throws Exception {
        startAgent();
        create("u", "");
        var raw = api.client.genericKubernetesResources("apiary.dev/v1alpha1", "VirtualMachine").inNamespace("default");
        raw.withName("u").patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"futureKnob\":{\"level\":3}}}");
        raw.withName("u").subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"status\":{\"futureStatus\":\"kept\"}}");
        var nodes = api.client.genericKubernetesResources("apiary.dev/v1alpha1", "VmmNode");
        await("VmmNode registered", () -> nodes.withName(NODE).get(), n -> n != null, 5_000);
        nodes.withName(NODE).subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"status\":{\"futureNodeFact\":7}}");
        String beat = vmmNode().getStatus().heartbeatTime;
        operate("u", DesiredState.Running, 1);
        awaitPhase("u", VmPhase.Running, 1);
        await("a heartbeat after the field was written", () -> vmmNode().getStatus().heartbeatTime,
                t -> !t.equals(beat), 5_000);
        var after = raw.withName("u").get();
        assertTrue(after.getMetadata().getFinalizers().contains(Finalizers.AGENT));
        assertEquals(java.util.Map.of("level", 3), after.get("spec", "futureKnob"));
        assertEquals("kept", after.get("status", "futureStatus"));
        assertEquals(7, (Integer) nodes.withName(NODE).get().get("status", "futureNodeFact"));

        // The node Lease is renewed with each heartbeat (the operator counts observed renewals as heartbeats).
        var leases = api.client.resources(Lease.class).inNamespace(agentClient.getNamespace());
        Lease lease = await("node Lease", () -> leases.withName("apiary-node-" + NODE).get(), l -> l != null, 5_000);
        assertEquals(NODE, lease.getMetadata().getLabels().get(Labels.NODE_LEASE));
        String rv = lease.getMetadata().getResourceVersion();
        await("renewed", () -> leases.withName("apiary-node-" + NODE).get().getMetadata().getResourceVersion(),
                v -> !v.equals(rv), 5_000);
    }

    /**
     * Start-up deadline: a VM informer whose list is forbidden is reported through readiness and an Event on the
     * VmmNode, not a silent hang (nor a crashed agent); once allowed, the retries sync and VMs run.
     */
    @Test
    void aForbiddenVmListIsReportedAndTheAgentCatchesUpWhenAllowed() throws Exception {
        api.forbidReads("/virtualmachines");
        agentClient = api.newClient();
        agent = new AgentRuntime(agentClient, settings().withSyncTimeout(Duration.ofMillis(300)), vertx);
        agent.start();
        AgentClient c = new AgentClient(agent.endpoint());
        HttpResponse<String> ready = await("readiness DOWN", () -> {
            try {
                return c.get("/q/health/ready", null);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, r -> r.statusCode() == 503 && r.body().contains("403"), 10_000);
        assertTrue(ready.body().contains("403") && ready.body().contains("deploy/agent-rbac.yaml"), ready.body());
        assertEquals(200, c.get("/q/health/live", null).statusCode());
        var events = await("CacheSyncTimeout event on the VmmNode", () -> api.client.v1().events().inNamespace("default")
                .list().getItems().stream().filter(e -> "CacheSyncTimeout".equals(e.getReason())
                        && NODE.equals(e.getInvolvedObject().getName())).toList(), l -> !l.isEmpty(), 10_000);
        assertEquals("VmmNode", events.get(0).getInvolvedObject().getKind());

        api.forbidReads(null);
        await("readiness UP", () -> {
            try {
                return c.get("/q/health/ready", null).statusCode();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, code -> code == 200, 60_000);
        create("late", "");
        operate("late", DesiredState.Running, 1);
        awaitPhase("late", VmPhase.Running, 1);
    }

    VmmNode vmmNode() {
        return api.client.resources(VmmNode.class).withName(NODE).get();
    }

    @Test
    void stopsAndCleansUpTheVmmOfAVmDeletedWhileTheAgentWasAway() throws Exception {
        startAgent();
        create("gone", "");
        operate("gone", DesiredState.Running, 1);
        VirtualMachine vm = awaitPhase("gone", VmPhase.Running, 1);
        long pid = vm.getStatus().vmm.pid;
        String uid = vm.getMetadata().getUid();
        agent.stop();
        agentClient.close();
        // Deleted behind the agent's back (its finalizer forced off, as an administrator might).
        VirtualMachine v = vm("gone");
        v.getMetadata().setFinalizers(List.of());
        api.client.resources(VirtualMachine.class).inNamespace("default").resource(v).update();
        api.client.resources(VirtualMachine.class).inNamespace("default").withName("gone").delete();
        await("gone", () -> vm("gone"), x -> x == null, 5_000);
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "VMs outlive the agent");
        startAgent();
        await("orphan VMM stopped", () -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), a -> !a,
                15_000);
        await("orphan directory removed", () -> Files.exists(tmp.resolve("run").resolve(uid)), e -> !e, 5_000);
        assertNotNull(agent.endpoint());
    }

    static String body(AgentClient c, String path) {
        try {
            return c.get(path, "alice-token").body();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
