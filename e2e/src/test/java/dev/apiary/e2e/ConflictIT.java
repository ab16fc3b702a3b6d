package dev.apiary.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.agent.AgentRuntime;
import dev.apiary.agent.AgentSettings;
import dev.apiary.agent.it.FakeVmm;
import dev.apiary.agent.it.MockApiServer;
import dev.apiary.crds.Finalizers;
import dev.apiary.crds.Labels;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmPhase;
import dev.apiary.operator.lifecycle.Backoff;
import dev.apiary.operator.runtime.OperatorMetrics;
import dev.apiary.operator.runtime.OperatorRuntime;
import dev.apiary.operator.runtime.OperatorSettings;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several writers on the same VMs at once, against the strict mock API server (409 on every stale write): the real
 * operator, the real agent (with {@link FakeVmm} processes, no KVM or guest needed), and two users, one editing the
 * spec (annotations, restart requests) and one the labels, each with read-modify-write merge patches retried on
 * conflict. Nothing may be lost (every side's last write is in the final object), no status may go backwards in
 * any version the watch delivers, each restart asked for makes exactly one new run, and every retry loop ends.
 */
class ConflictIT {
    private static final String NODE = "node-conflict";
    private static final int VMS = 5;
    private static final int EDITS = 25;
    private static final int RESTARTS = 2;
    /** A user's write is retried at most this often on 409 before the test fails (the sides retry at most 5 times). */
    private static final int USER_ATTEMPTS = 40;

    @TempDir
    Path tmp;
    private final MockApiServer api = new MockApiServer();
    private final Vertx vertx = Vertx.vertx();
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closing);
        for (AutoCloseable c : closing) c.close();
        try (var s = Files.walk(tmp)) {
            for (Path p : s.filter(p -> p.getFileName().toString().equals("vmm.pid")).toList()) {
                ProcessHandle.of(Long.parseLong(Files.readString(p).trim())).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        api.close();
    }

    private void startOperator() {
        KubernetesClient c = api.newClient("apiary-operator");
        OperatorRuntime op = new OperatorRuntime(c, OperatorSettings.defaults().withHeartbeatTimeout(Duration.ofSeconds(30))
                .withBackoff(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1))), Clock.systemUTC(),
                new OperatorMetrics(new SimpleMeterRegistry()));
        op.start();
        closing.add(c);
        closing.add(op::stop);
    }

    private void startAgent() throws Exception {
        Files.createDirectories(tmp.resolve("images"));
        Files.write(tmp.resolve("images/kit.bzImage"), new byte[4096]);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> vmm = List.of(java, "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp",
                System.getProperty("java.class.path"), FakeVmm.class.getName());
        AgentSettings s = AgentSettings.defaults(NODE, tmp.resolve("images"), tmp.resolve("run"), vmm)
                .withListen("127.0.0.1", 0).withEndpoint("https://127.0.0.1:{port}")
                .withTimings(Duration.ofMillis(500), Duration.ofMillis(300), Duration.ofSeconds(2))
                .withCapacity(64, 512L << 20, Map.of());
        KubernetesClient c = api.newClient("apiary-agent");
        AgentRuntime agent = new AgentRuntime(c, s, vertx);
        agent.start();
        closing.add(c);
        closing.add(agent::stop);
    }

    private static String yaml(String name) {
        return """
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata: {name: %s, namespace: default, annotations: {apiary.dev/stop-grace-period: 1s}}
                spec:
                  runStrategy: Always
                  cpus: 1
                  memory: 64Mi
                  boot: {kernel: {path: kit.bzImage, cmdline: "console=ttyS0"}}
                """.formatted(name);
    }

    private VirtualMachine vm(String name) {
        return api.client.resources(VirtualMachine.class).inNamespace("default").withName(name).get();
    }

    /** Each version of each VM the watch delivered, in order. */
    private final Map<String, List<VirtualMachine>> history = new ConcurrentHashMap<>();

    @Test
    void operatorAgentAndUsersWritingTheSameVms() throws Exception {
        Watch watch = api.client.resources(VirtualMachine.class).inNamespace("default").watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, VirtualMachine vm) {
                history.computeIfAbsent(vm.getMetadata().getName(), k -> Collections.synchronizedList(new ArrayList<>()))
                        .add(vm);
            }

            @Override
            public void onClose(WatcherException cause) {}
        });
        closing.add(watch::close);
        startOperator();
        startAgent();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < VMS; i++) {
            names.add("c" + i);
            api.client.resources(VirtualMachine.class).load(new ByteArrayInputStream(yaml("c" + i).getBytes())).create();
        }
        for (String n : names) await(n + " Running", () -> vm(n), v -> running(v, 1));
        long conflictsBefore = api.conflicts();

        AtomicInteger maxAttempts = new AtomicInteger();
        KubernetesClient userA = api.newClient("user-a");
        KubernetesClient userB = api.newClient("user-b");
        closing.add(userA);
        closing.add(userB);
        ExecutorService users = Executors.newFixedThreadPool(2 * VMS);
        List<Future<?>> done = new ArrayList<>();
        for (String n : names) {
            // User A: spec and annotations; a restart every EDITS / RESTARTS edits, waiting for its answer.
            done.add(users.submit(() -> {
                for (int e = 0; e < EDITS; e++) {
                    int round = e;
                    boolean restart = (e + 1) % (EDITS / RESTARTS) == 0;
                    String id = n + "-restart-" + e;
                    maxAttempts.accumulateAndGet(patch(userA, n, () -> "{\"metadata\":{\"annotations\":{\"user-a/round\":\""
                            + round + "\"}}" + (restart ? ",\"spec\":{\"lifecycleRequest\":{\"action\":\"Restart\",\"id\":\""
                            + id + "\"}}" : "") + "}"), Math::max);
                    if (restart) {
                        await(n + " answers " + id, () -> vm(n), v -> v.getStatus() != null
                                && v.getStatus().lastRequest != null && id.equals(v.getStatus().lastRequest.id));
                    }
                }
                return null;
            }));
            // User B: labels, as fast as it can.
            done.add(users.submit(() -> {
                for (int e = 0; e < EDITS; e++) {
                    int round = e;
                    maxAttempts.accumulateAndGet(patch(userB, n, () -> "{\"metadata\":{\"labels\":{\"user-b/round\":\"" + round
                            + "\"}}}"), Math::max);
                }
                return null;
            }));
        }
        for (Future<?> f : done) f.get(5, TimeUnit.MINUTES);
        users.shutdown();
        for (String n : names) await(n + " Running its last run", () -> vm(n), v -> running(v, 1 + RESTARTS));

        long conflicts = api.conflicts() - conflictsBefore;
        assertTrue(conflicts > 0, "the writers never collided: the test proved nothing");
        assertTrue(maxAttempts.get() < USER_ATTEMPTS, "a user's write needed " + maxAttempts.get() + " attempts");
        long writes = api.requests().entrySet().stream().filter(e -> e.getKey().startsWith("PATCH virtualmachines"))
                .mapToLong(e -> e.getValue()[0]).sum();
        System.out.printf("ConflictIT: %d VM writes, %d answered 409 Conflict, a user write took at most %d attempts%n",
                writes, conflicts, maxAttempts.get());
        api.writers().forEach((who, c) -> System.out.printf("ConflictIT:   %-40s %6d writes %5d conflicts%n", who, c[0],
                c[1]));
        for (String side : List.of("apiary-operator", "apiary-agent")) {
            assertTrue(api.writers().containsKey(side), side + " wrote nothing");
        }

        for (String n : names) {
            VirtualMachine v = vm(n);
            // Nothing lost: every writer's last write is there.
            assertEquals(String.valueOf(EDITS - 1), v.getMetadata().getAnnotations().get("user-a/round"), n);
            assertEquals(String.valueOf(EDITS - 1), v.getMetadata().getLabels().get("user-b/round"), n);
            assertEquals(NODE, v.getMetadata().getLabels().get(Labels.NODE), n);
            assertTrue(v.getMetadata().getFinalizers().containsAll(List.of(Finalizers.OPERATOR, Finalizers.AGENT)), n);
            assertEquals("1s", v.getMetadata().getAnnotations().get("apiary.dev/stop-grace-period"), n);
            // Each restart asked for made exactly one new run.
            assertEquals(1 + RESTARTS, v.getStatus().runId, n);
            assertEquals("Accepted", v.getStatus().lastRequest.result, n);
            noRegressions(n, history.get(n));
        }
    }

    /** Over the versions the watch delivered: run numbers, generations and request ids only move forward. */
    private static void noRegressions(String name, List<VirtualMachine> versions) {
        List<VirtualMachine> seen;
        synchronized (versions) {
            seen = new ArrayList<>(versions);
        }
        long rv = 0;
        long runId = 0;
        long vmmRun = 0;
        long observed = 0;
        long restarts = 0;
        for (VirtualMachine v : seen) {
            long r = Long.parseLong(v.getMetadata().getResourceVersion());
            assertTrue(r >= rv, name + ": resourceVersion went back");
            rv = r;
            var st = v.getStatus();
            if (st == null) {
                assertEquals(0, runId, name + " lost its status at resourceVersion " + r);
                continue;
            }
            runId = forward(name, "runId", runId, st.runId, r);
            vmmRun = forward(name, "vmm.runId", vmmRun, st.vmm == null ? null : st.vmm.runId, r);
            observed = forward(name, "observedGeneration", observed, st.observedGeneration, r);
            restarts = forward(name, "restarts", restarts, st.restarts == null ? null : (long) st.restarts, r);
            if (st.phase == VmPhase.Running) {
                // A restart asks for run n+1 while run n still runs: the VMM's run is never ahead of the asked one.
                assertNotNull(st.vmm, name + ": Running without a VMM at resourceVersion " + r);
                assertTrue(st.vmm.runId <= st.runId, name + ": the VMM runs a run not yet asked for at " + r);
            }
        }
        assertTrue(seen.size() > EDITS, name + ": the watch delivered only " + seen.size() + " versions");
    }

    private static long forward(String name, String what, long before, Long now, long rv) {
        if (now == null) {
            assertTrue(before == 0 || what.startsWith("vmm"), name + ": " + what + " vanished at resourceVersion " + rv);
            return before;
        }
        assertTrue(now >= before, name + ": " + what + " went from " + before + " to " + now + " at resourceVersion " + rv);
        return now;
    }

    private static boolean running(VirtualMachine v, long run) {
        return v != null && v.getStatus() != null && v.getStatus().phase == VmPhase.Running && v.getStatus().runId != null
                && v.getStatus().runId == run && v.getStatus().vmm != null && Long.valueOf(run).equals(v.getStatus().vmm.runId);
    }

    /** A user's read-modify-write: a merge patch on the version just read, retried on 409; the attempts it took. */
    private int patch(KubernetesClient user, String name, Supplier<String> change) {
        var op = user.resources(VirtualMachine.class).inNamespace("default").withName(name);
        for (int attempt = 1; attempt <= USER_ATTEMPTS; attempt++) {
            String rv = op.get().getMetadata().getResourceVersion();
            String body = change.get();
            String versioned = body.replaceFirst("\\{\"metadata\":\\{", "{\"metadata\":{\"resourceVersion\":\"" + rv + "\",");
            try {
                op.patch(PatchContext.of(PatchType.JSON_MERGE), versioned);
                return attempt;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) throw e;
            }
            // As a careful client does (client-go's RetryOnConflict): a short, jittered backoff before reading again.
            try {
                Thread.sleep(ThreadLocalRandom.current().nextInt(1, 10 * attempt));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError(name + ": a user's write conflicted " + USER_ATTEMPTS + " times in a row");
    }

    private static <T> void await(String what, Supplier<T> value, Predicate<T> test) {
        MockApiServer.await(what, value, test, 180_000);
    }
}
