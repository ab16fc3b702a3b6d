package dev.apiary.crds.mock;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VmPhase;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The shared mock refuses every stale write as a real API server does, on every write path. */
class StrictCrudDispatcherTest {
    private final StrictCrudDispatcher dispatcher = new StrictCrudDispatcher();
    private KubernetesMockServer server;
    private NamespacedKubernetesClient client;

    @BeforeEach
    void start() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        server.init();
        client = server.createClient();
        client.apiextensions().v1().customResourceDefinitions()
                .load(getClass().getResourceAsStream("/META-INF/fabric8/virtualmachines.apiary.dev-v1.yml")).create();
        client.resources(VirtualMachine.class).load(new ByteArrayInputStream("""
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata: {name: a, namespace: default, finalizers: [x, y]}
                spec: {cpus: 1, memory: 64Mi, boot: {kernel: {path: k}}}
                """.getBytes())).create();
    }

    @AfterEach
    void stop() {
        client.close();
        server.destroy();
    }

    private VirtualMachine get() {
        return client.resources(VirtualMachine.class).inNamespace("default").withName("a").get();
    }

    private int code(Runnable write) {
        try {
            write.run();
            return 200;
        } catch (KubernetesClientException e) {
            return e.getCode();
        }
    }

    private static VirtualMachine at(VirtualMachine vm, String resourceVersion) {
        vm.getMetadata().setResourceVersion(resourceVersion);
        return vm;
    }

    private VirtualMachine withStatus(VirtualMachine vm, VmPhase phase) {
        vm.setStatus(new VirtualMachineStatus());
        vm.getStatus().phase = phase;
        return vm;
    }

    @Test
    void staleWritesConflictOnEveryPath() {
        VirtualMachine stale = get();
        client.resources(VirtualMachine.class).inNamespace("default").withName("a")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"labels\":{\"k\":\"v\"}}}");
        var op = client.resources(VirtualMachine.class).inNamespace("default");
        String rv = stale.getMetadata().getResourceVersion();
        long before = dispatcher.conflicts();
        assertEquals(409, code(() -> op.resource(at(withStatus(get(), VmPhase.Running), rv)).updateStatus()), "PUT /status");
        assertEquals(409, code(() -> op.resource(at(get(), rv)).update()), "PUT");
        String patch = "{\"metadata\":{\"resourceVersion\":\"" + rv + "\"},\"status\":{\"phase\":\"Running\"}}";
        assertEquals(409, code(() -> op.resource(get()).subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), patch)), "PATCH /status");
        assertEquals(409, code(() -> op.withName("a").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"metadata\":{\"resourceVersion\":\"" + rv + "\",\"labels\":{\"k\":\"w\"}}}")), "PATCH");
        assertEquals(4, dispatcher.conflicts() - before);
        assertEquals("v", get().getMetadata().getLabels().get("k"));
        assertNull(get().getStatus());
    }

    @Test
    void anUpdateWithoutResourceVersionIsInvalid() throws Exception {
        VirtualMachine vm = get();
        vm.getMetadata().setResourceVersion(null);
        // fabric8's update() always sends the version it read, so the unconditional PUT goes out by hand.
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(server.url(
                        "/apis/apiary.dev/v1alpha1/namespaces/default/virtualmachines/a")))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(Serialization.asJson(vm))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(422, r.statusCode(), r.body());
        assertTrue(r.body().contains("must be specified for an update"), r.body());
    }

    @Test
    void mergePatchesAreRfc7386() {
        var op = client.resources(VirtualMachine.class).inNamespace("default").withName("a");
        op.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"finalizers\":[\"y\"],\"labels\":{\"a\":\"1\"}}}");
        assertEquals(List.of("y"), get().getMetadata().getFinalizers(), "a list replaces the list");
        op.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"labels\":{\"a\":null}}}");
        assertFalse(get().getMetadata().getLabels() != null && get().getMetadata().getLabels().containsKey("a"),
                "a null removes the member");
    }
}
