package dev.apiary.operator.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.crds.MergePatch;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The mock's CRUD dispatcher made to answer a PUT to {@code /status} with a stale resourceVersion by 409 Conflict,
 * as a real API server does (the stock mock accepts it and overwrites). Writes are serialised so check and write
 * are atomic. Without this, tests would pass on behaviour a real server refuses — or fail on overwrites it never
 * allows.
 */
final class StrictCrudDispatcher extends KubernetesCrudDispatcher {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** "METHOD resource[/status]" → {requests, nanoseconds in the dispatcher}: what a run cost the server (bench/operator). */
    private final Map<String, long[]> requests = new ConcurrentHashMap<>();

    /** Requests answered with an error instead (a 403 from RBAC, a 404 for a CRD not installed), or null. */
    private volatile Refusal refusal;

    record Refusal(Predicate<RecordedRequest> matches, int code) {}

    void refuse(Refusal r) {
        refusal = r;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        Refusal r = refusal;
        if (r != null && r.matches().test(request)) {
            return new MockResponse().setResponseCode(r.code()).setBody("{\"apiVersion\":\"v1\",\"kind\":\"Status\","
                    + "\"status\":\"Failure\",\"code\":" + r.code() + ",\"reason\":\"" + (r.code() == 403 ? "Forbidden"
                    : "NotFound") + "\",\"message\":\"refused by the test for " + request.getPath().split("\\?")[0]
                    + "\"}");
        }
        long t0 = System.nanoTime();
        try {
            return super.dispatch(request);
        } finally {
            long[] c = requests.computeIfAbsent(request.getMethod() + " " + resource(request.getPath()), k -> new long[2]);
            synchronized (c) {
                c[0]++;
                c[1] += System.nanoTime() - t0;
            }
        }
    }

    /** The plural of the path (and /status), without names or query: "virtualmachines/status". */
    private static String resource(String path) {
        String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        String[] seg = p.split("/");
        int i = 0;
        while (i < seg.length && !List.of("virtualmachines", "vmmnodes", "events", "leases").contains(seg[i])) i++;
        if (i == seg.length) return p.contains("watch") ? "watch" : "other";
        return seg[i] + (p.endsWith("/status") ? "/status" : "");
    }

    Map<String, long[]> requests() {
        return new TreeMap<>(requests);
    }

    /**
     * A JSON merge patch as RFC 7386 and a real API server apply it: a list in the patch replaces the list, a null
     * removes the member. The stock mock reads the patch "for updating" with Jackson, which appends to lists and
     * stores nulls, so a patch carrying a whole {@code conditions} list would duplicate every condition.
     */
    @Override
    public JsonNode merge(JsonNode baseResource, String patch) {
        try {
            return MergePatch.apply(baseResource.deepCopy(), JSON.readTree(patch));
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Override
    public synchronized MockResponse handleUpdate(RecordedRequest request) {
        String path = request.getPath();
        if (path.endsWith("/status")) {
            try {
                // getBytes() reads without consuming, so the stock handler still gets the body.
                JsonNode body = JSON.readTree(request.getBody().getBytes());
                String sent = body.path("metadata").path("resourceVersion").asText("");
                MockResponse current = super.handleGet(path.substring(0, path.length() - "/status".length()));
                if (!sent.isEmpty() && current.code() == 200) {
                    String stored = JSON.readTree(current.getBody().getBytes()).path("metadata")
                            .path("resourceVersion").asText("");
                    if (!sent.equals(stored)) {
                        return new MockResponse().setResponseCode(409).setBody("{\"apiVersion\":\"v1\",\"kind\":\"Status\","
                                + "\"status\":\"Failure\",\"reason\":\"Conflict\",\"code\":409,\"message\":\"the object has"
                                + " been modified; please apply your changes to the latest version and try again\"}");
                    }
                }
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return super.handleUpdate(request);
    }

    @Override
    public synchronized MockResponse handleCreate(RecordedRequest request) {
        return super.handleCreate(request);
    }

    @Override
    public synchronized MockResponse handlePatch(RecordedRequest request) {
        return super.handlePatch(request);
    }

    @Override
    public synchronized MockResponse handleDelete(String path) {
        return super.handleDelete(path);
    }
}
