package dev.apiary.operator.it;

import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmmNode;
import dev.apiary.crds.mock.StrictCrudDispatcher;
import dev.apiary.operator.lifecycle.Backoff;
import dev.apiary.operator.runtime.OperatorMetrics;
import dev.apiary.operator.runtime.OperatorRuntime;
import dev.apiary.operator.runtime.OperatorSettings;
import dev.apiary.operator.vm.VmApi;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A fabric8 mock API server in CRUD mode (made as strict as a real server about resourceVersion, see
 * {@link StrictCrudDispatcher}) with Apiary's CRDs, operators started in-process against it (each with its
 * own client, so one can be stopped like a crashed pod), and fake agents that play the agent's side of the contract.
 */
public final class MockCluster implements AutoCloseable {
    public static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(3);
    public final KubernetesMockServer server;
    public final NamespacedKubernetesClient client;
    private final StrictCrudDispatcher dispatcher = new StrictCrudDispatcher();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    public MockCluster() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                dispatcher, false);
        server.init();
        client = server.createClient();
        for (String crd : List.of("virtualmachines.apiary.dev-v1.yml", "vmmnodes.apiary.dev-v1.yml")) {
            client.apiextensions().v1().customResourceDefinitions()
                    .load(MockCluster.class.getResourceAsStream("/META-INF/fabric8/" + crd)).create();
        }
    }

    public static OperatorSettings settings() {
        return OperatorSettings.defaults().withHeartbeatTimeout(HEARTBEAT_TIMEOUT)
                .withBackoff(new Backoff(Duration.ofMillis(300), Duration.ofMillis(1200)));
    }

    public OperatorRuntime startOperator() {
        return startOperator(settings(), VmApi::of);
    }

    public OperatorRuntime startOperator(OperatorSettings settings, Function<KubernetesClient, VmApi> api) {
        KubernetesClient own = server.createClient();
        OperatorRuntime rt = new OperatorRuntime(own, settings, Clock.systemUTC(),
                new OperatorMetrics(new SimpleMeterRegistry()), api.apply(own));
        rt.start();
        closeables.add(() -> {
            rt.stop();
            own.close();
        });
        return rt;
    }

    /**
     * From now on, GET requests (list, watch, get) whose path contains {@code pathPart} are answered with
     * {@code code} (403 as RBAC would, 404 as for a CRD not installed); null lifts it.
     */
    public void refuseReads(String pathPart, int code) {
        dispatcher.refuse(pathPart == null ? null : new StrictCrudDispatcher.Refusal(
                r -> r.getMethod().equals("GET") && r.getPath().contains(pathPart), code));
    }

    /** Requests the server answered so far, per "METHOD resource": {count, nanoseconds, conflicts}. */
    public Map<String, long[]> requests() {
        return dispatcher.requests();
    }

    /** Nanoseconds the server spent on writes so far (they are serialised). */
    public long writeBusyNanos() {
        return dispatcher.writeBusyNanos();
    }

    /** 409 Conflict answers so far. */
    public long conflicts() {
        return dispatcher.conflicts();
    }

    public FakeAgent agent(String node, int cpus, String memory, Map<String, String> labels) {
        FakeAgent a = new FakeAgent(server.createClient(), node, cpus, memory, labels);
        closeables.add(a);
        return a;
    }

    public VirtualMachine create(String yaml) {
        return client.resources(VirtualMachine.class).load(new java.io.ByteArrayInputStream(yaml.getBytes()))
                .create();
    }

    public VirtualMachine vm(String name) {
        return client.resources(VirtualMachine.class).inNamespace("default").withName(name).get();
    }

    public VmmNode node(String name) {
        return client.resources(VmmNode.class).withName(name).get();
    }

    public static Optional<Condition> condition(VirtualMachine vm, String type) {
        return vm == null || vm.getStatus() == null ? Optional.empty()
                : vm.getStatus().conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    public List<Event> events(String objectName) {
        return client.v1().events().inAnyNamespace().list().getItems().stream()
                .filter(e -> objectName.equals(e.getInvolvedObject().getName())).toList();
    }

    public List<String> eventReasons(String objectName) {
        return events(objectName).stream().map(Event::getReason).toList();
    }

    public static String vmYaml(String name, String strategy, int cpus, String memory) {
        return """
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata: {name: %s, namespace: default}
                spec:
                  runStrategy: %s
                  cpus: %d
                  memory: %s
                  boot: {kernel: {path: vmlinuz}}
                  disks: [{name: root, image: {path: disks/%s.img}}]
                """.formatted(name, strategy, cpus, memory, name);
    }

    /** Waits until the value satisfies the test; fails with the last value seen. */
    public static <T> T await(String what, Supplier<T> value, java.util.function.Predicate<T> test, Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        T last = null;
        while (System.nanoTime() < end) {
            try {
                last = value.get();
                if (test.test(last)) return last;
            } catch (RuntimeException e) {
                last = null;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("timed out waiting for " + what + "; last: " + describe(last));
    }

    public static <T> T await(String what, Supplier<T> value, java.util.function.Predicate<T> test) {
        return await(what, value, test, Duration.ofSeconds(15));
    }

    private static String describe(Object o) {
        if (o instanceof VirtualMachine vm) {
            try {
                return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(vm.getStatus());
            } catch (Exception e) {
                return String.valueOf(vm);
            }
        }
        return String.valueOf(o);
    }

    @Override
    public void close() {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        client.close();
        server.destroy();
    }
}
