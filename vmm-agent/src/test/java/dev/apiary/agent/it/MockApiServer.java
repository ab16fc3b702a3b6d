package dev.apiary.agent.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The fabric8 mock API server in CRUD mode with Apiary's CRDs, plus what CRUD mode cannot answer: TokenReview and
 * SubjectAccessReview, answered by expectations from a table of tokens and grants ({@link #token}, {@link #grant}).
 * The agent's code is the production code; only these two answers come from the test.
 */
public final class MockApiServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    public final KubernetesMockServer server;
    public final NamespacedKubernetesClient client;
    private final MixedCrudDispatcher dispatcher;
    private final Map<String, String> tokens = new ConcurrentHashMap<>();
    /** user → "verb namespace/name" grants; name "*" for any. */
    private final Map<String, Set<String>> grants = new ConcurrentHashMap<>();

    public MockApiServer() {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        dispatcher = new MixedCrudDispatcher(responses);
        server = new KubernetesMockServer(new Context(), new MockWebServer(), responses, dispatcher, false);
        server.init();
        server.expect().post().withPath("/apis/authentication.k8s.io/v1/tokenreviews")
                .andReply(201, req -> tokenReview(req.getBody().readUtf8())).always();
        server.expect().post().withPath("/apis/authorization.k8s.io/v1/subjectaccessreviews")
                .andReply(201, req -> accessReview(req.getBody().readUtf8())).always();
        client = server.createClient();
        for (String crd : List.of("virtualmachines.apiary.dev-v1.yml", "vmmnodes.apiary.dev-v1.yml")) {
            client.apiextensions().v1().customResourceDefinitions()
                    .load(MockApiServer.class.getResourceAsStream("/META-INF/fabric8/" + crd)).create();
        }
    }

    /** From now on GET requests whose path contains pathPart are answered 403; null lifts it. */
    public void forbidReads(String pathPart) {
        dispatcher.forbidReads(pathPart);
    }

    /** 409 Conflict answers so far. */
    public long conflicts() {
        return dispatcher.conflicts();
    }

    /** Requests answered so far, per "METHOD resource": {count, nanoseconds, conflicts}. */
    public Map<String, long[]> requests() {
        return dispatcher.requests();
    }

    public NamespacedKubernetesClient newClient() {
        return server.createClient();
    }

    /** A client whose requests carry this User-Agent, so the server's counts tell the writers apart. */
    public KubernetesClient newClient(String userAgent) {
        return new KubernetesClientBuilder().withConfig(new ConfigBuilder(client.getConfiguration())
                .withUserAgent(userAgent).build()).build();
    }

    /** Per User-Agent: {writes, 409 answers} so far. */
    public Map<String, long[]> writers() {
        return dispatcher.writers();
    }

    /** A bearer token the API server accepts, for user. */
    public MockApiServer token(String token, String user) {
        tokens.put(token, user);
        return this;
    }

    /** Lets user do verb on VirtualMachine namespace/name (name "*": all in the namespace). */
    public MockApiServer grant(String user, String verb, String namespace, String name) {
        grants.computeIfAbsent(user, u -> ConcurrentHashMap.newKeySet()).add(verb + " " + namespace + "/" + name);
        return this;
    }

    private Object tokenReview(String body) {
        try {
            ObjectNode tr = (ObjectNode) JSON.readTree(body);
            String user = tokens.get(tr.path("spec").path("token").asText());
            ObjectNode st = tr.putObject("status");
            st.put("authenticated", user != null);
            if (user != null) {
                st.putObject("user").put("username", user).put("uid", "uid-" + user).putArray("groups")
                        .add("system:authenticated");
            }
            return tr;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private Object accessReview(String body) {
        try {
            ObjectNode sar = (ObjectNode) JSON.readTree(body);
            JsonNode ra = sar.path("spec").path("resourceAttributes");
            String user = sar.path("spec").path("user").asText();
            String verb = ra.path("verb").asText();
            String ns = ra.path("namespace").asText();
            String name = ra.path("name").asText("");
            Set<String> g = grants.getOrDefault(user, Set.of());
            boolean ok = "apiary.dev".equals(ra.path("group").asText())
                    && "virtualmachines".equals(ra.path("resource").asText())
                    && (g.contains(verb + " " + ns + "/*") || (!name.isEmpty() && g.contains(verb + " " + ns + "/" + name)));
            sar.putObject("status").put("allowed", ok);
            return sar;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits until value satisfies test; fails with the last value seen. */
    public static <T> T await(String what, Supplier<T> value, Predicate<T> test, long millis) {
        long end = System.nanoTime() + millis * 1_000_000;
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
        String d;
        try {
            d = last instanceof io.fabric8.kubernetes.api.model.HasMetadata h ? JSON.writeValueAsString(h)
                    : String.valueOf(last);
        } catch (Exception e) {
            d = String.valueOf(last);
        }
        throw new AssertionError("timed out waiting for " + what + "; last: " + d);
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
