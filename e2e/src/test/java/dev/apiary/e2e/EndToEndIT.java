package dev.apiary.e2e;

import static dev.apiary.agent.it.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.apiary.agent.it.AgentClient;
import dev.apiary.agent.node.HostFacts;
import dev.apiary.crds.Accelerator;
import dev.apiary.crds.ConditionTypes;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmPhase;
import dev.apiary.crds.VmmNode;
import dev.apiary.kubectlvm.KubectlVm;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path with a real VMM (KVM, or the software CPU where the host has no KVM): apply a VirtualMachine to the mock API server → the operator schedules it → the agent
 * runs a real VMM with the guest kit → Running → serial history through the agent API and kubectl vm; stop, start,
 * kill -9 with RerunOnFailure, agent restart (the VM keeps its pid), delete (process gone, directory removed,
 * finalizers released); wrong and missing tokens refused.
 */
class EndToEndIT {
    static final long T = 60_000;

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path tmp;

    @Test
    void aVirtualMachineFromApplyToDelete() throws Exception {
        Path root = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath().normalize();
        String why = Cluster.unusableReason(root);
        assumeTrue(why == null, () -> "skipped: " + why);
        try (Cluster c = new Cluster(tmp)) {
            c.api.token("alice-token", "alice").token("bob-token", "bob")
                    .grant("alice", "get", "default", "*").grant("alice", "update", "default", "*")
                    .grant("alice", "list", "default", "*");
            c.startOperator();
            c.startAgent();
            await("VmmNode", () -> c.api.client.resources(VmmNode.class).withName(Cluster.NODE).get(),
                    n -> n != null && n.getStatus() != null && n.getStatus().heartbeatTime != null, T);

            // Apply → Scheduled → Running.
            long applied = System.nanoTime();
            c.apply(Cluster.vmYaml("web", "RerunOnFailure"));
            await("Scheduled", () -> c.vm("web"), v -> v.getStatus() != null && v.getStatus().conditions.stream()
                    .anyMatch(x -> x.getType().equals(ConditionTypes.SCHEDULED) && x.getStatus().equals("True")), T);
            VirtualMachine vm = awaitRunning(c, "web", 1);
            System.out.printf("apply to Running: %d ms (VMM bootMillis %s)%n", (System.nanoTime() - applied) / 1_000_000,
                    vm.getStatus().vmm.bootMillis);
            long pid = vm.getStatus().vmm.pid;
            assertTrue(vm.getMetadata().getFinalizers().contains(Finalizers.AGENT));
            assertEquals(c.agent().endpoint(), vm.getStatus().agent.endpoint);
            // Auto: KVM where the host's KVM is usable, else the software CPU; the VM's status says which.
            HostFacts host = Cluster.hostFacts(root);
            boolean kvm = host.accelerators().stream().anyMatch(a -> a.name().equals("KVM") && a.available());
            assertEquals(kvm ? Accelerator.KVM : Accelerator.Emulated, vm.getStatus().accelerator);

            // The serial history through the agent API holds the guest's markers; kubectl vm logs prints it.
            AgentClient api = new AgentClient(c.agent().endpoint());
            String serial = await("guest markers", () -> body(api, "/v1/vms/default/web/serial", "alice-token"),
                    s -> s.contains("KIT banner") && s.contains("KIT done"), T);
            assertTrue(serial.contains("KIT start"), serial);
            String logs = kubectl(c, "logs", "web");
            assertTrue(logs.contains("KIT banner"), logs);
            String tail = kubectl(c, "logs", "web", "--tail", "64");
            assertTrue(tail.length() <= 64 && tail.contains("KIT done"), tail);
            String list = kubectl(c, "list");
            assertTrue(list.contains("Running"), list);

            // Tokens: missing or wrong → 401; a user without a grant → 403; displays → 409.
            assertEquals(401, api.get("/v1/vms/default/web/serial", null).statusCode());
            assertEquals(401, api.get("/v1/vms/default/web/serial", "wrong").statusCode());
            assertEquals(403, api.get("/v1/vms/default/web/serial", "bob-token").statusCode());
            HttpResponse<String> shot = api.get("/v1/vms/default/web/screenshot.png", "alice-token");
            assertEquals(409, shot.statusCode());
            assertTrue(kubectlFails(c, "screenshot", "web", "-o", tmp.resolve("s.png").toString())
                    .contains("this VM has no display"));
            assertTrue(kubectlFails(c, "logs", "nosuch").contains("not found"));

            // Stop (the guest kit ignores the power button: hard stop after the VM's 1 s grace) → Stopped.
            kubectl(c, "stop", "web");
            vm = await("Stopped", () -> c.vm("web"), v -> v.getStatus().phase == VmPhase.Stopped, T);
            assertEquals("Stopped", vm.getStatus().exit.reason);
            awaitDead(pid);

            // Start again → Running, a new run and a new process.
            kubectl(c, "start", "web");
            vm = awaitRunning(c, "web", vm.getStatus().runId + 1);
            long run = vm.getStatus().runId;
            pid = vm.getStatus().vmm.pid;

            // kill -9 of the VMM: the status says so, and RerunOnFailure brings it back.
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            long killedRun = run;
            vm = await("the crash reported", () -> c.vm("web"), v -> v.getStatus().exit != null
                    && v.getStatus().exit.runId == killedRun && "VmmCrashed".equals(v.getStatus().exit.reason), T);
            assertTrue(vm.getStatus().exit.message.contains("SIGKILL"), vm.getStatus().exit.message);
            vm = awaitRunning(c, "web", killedRun + 1);
            assertTrue(vm.getStatus().restarts >= 1);
            pid = vm.getStatus().vmm.pid;

            // Restart the agent: the VM keeps running with the same pid, adopted by the new agent.
            c.stopAgent();
            assertTrue(alive(pid));
            c.startAgent();
            // The node may look lost while its agent is down (phase Unknown); the new agent adopts the VM and
            // reports it Running again, with the same VMM process.
            long adopted = pid;
            vm = await("Running again after the agent restart", () -> c.vm("web"),
                    v -> v.getStatus().phase == VmPhase.Running && v.getStatus().vmm != null
                            && v.getStatus().vmm.pid == adopted, T);
            assertEquals(pid, vm.getStatus().vmm.pid);
            assertTrue(alive(pid));
            // The run started moments before the agent went down: its guest may not have printed yet.
            AgentClient restarted = new AgentClient(c.agent().endpoint());
            await("the guest's banner through the new agent",
                    () -> body(restarted, "/v1/vms/default/web/serial", "alice-token"), b -> b.contains("KIT banner"), T);

            // Delete → process gone, runtime directory cleaned, finalizers released (the object is gone).
            String uid = vm.getMetadata().getUid();
            c.api.client.resources(VirtualMachine.class).inNamespace("default").withName("web").delete();
            await("web deleted", () -> c.vm("web"), v -> v == null, T);
            awaitDead(pid);
            assertFalse(Files.exists(tmp.resolve("run").resolve(uid)));

            // The node carries the VMM's capability probe verdicts (it runs in the background at agent start): each
            // accelerator as vmm doctor sees this host, and the old kvm block.
            var node = await("probe verdict on the VmmNode", () -> c.api.client.resources(VmmNode.class)
                    .withName(Cluster.NODE).get(), n -> n.getStatus().accelerators != null, T);
            assertEquals(host.accelerators().stream().map(a -> a.name() + "=" + a.available()).toList(),
                    node.getStatus().accelerators.stream().map(a -> a.name + "=" + a.available).toList());
            assertEquals(host.kvmPresent(), node.getStatus().kvm.present);
            if (kvm) assertEquals(12, node.getStatus().kvm.apiVersion);
        }
    }

    static VirtualMachine awaitRunning(Cluster c, String name, long runId) {
        return await(name + " Running run " + runId, () -> c.vm(name), v -> v.getStatus() != null
                && v.getStatus().phase == VmPhase.Running && v.getStatus().vmm != null
                && v.getStatus().vmm.runId != null && v.getStatus().vmm.runId == runId, T);
    }

    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    static void awaitDead(long pid) {
        await("pid " + pid + " gone", () -> alive(pid), a -> !a, T);
    }

    static String body(AgentClient c, String path, String token) {
        try {
            return c.get(path, token).body();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String kubectl(Cluster c, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = KubectlVm.run(withToken(args), c.api::newClient, new PrintStream(out, true), new PrintStream(err, true));
        assertEquals(0, rc, "kubectl vm " + String.join(" ", args) + ": " + err);
        return out.toString();
    }

    static String kubectlFails(Cluster c, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = KubectlVm.run(withToken(args), c.api::newClient, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true));
        assertEquals(1, rc);
        String e = err.toString();
        assertEquals(1, e.strip().lines().count(), "one line: " + e);
        return e;
    }

    static String[] withToken(String[] args) {
        String[] a = new String[args.length + 4];
        System.arraycopy(args, 0, a, 0, args.length);
        a[args.length] = "--token";
        a[args.length + 1] = "alice-token";
        a[args.length + 2] = "-n";
        a[args.length + 3] = "default";
        return a;
    }
}
