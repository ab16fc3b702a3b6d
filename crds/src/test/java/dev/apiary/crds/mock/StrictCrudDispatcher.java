package dev.apiary.crds.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.crds.MergePatch;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The fabric8 mock's CRUD dispatcher made to refuse what a real API server refuses, for every test that talks to a
 * mock API server (operator, agent, e2e). The stock mock (7.3.1) checks a stale resourceVersion on PATCH (main and
 * status) and on PUT of the main resource, but:
 * <ul>
 * <li>a PUT to {@code /status} with a stale resourceVersion overwrites (it compares the stored object with itself);
 *     here it is 409 Conflict;</li>
 * <li>a PUT without a resourceVersion replaces unconditionally; a real server refuses that for custom resources
 *     ({@code metadata.resourceVersion: Invalid value: 0: must be specified for an update}, 422);</li>
 * <li>a JSON merge patch is read "for updating" with Jackson, which appends to lists and stores nulls; here it is
 *     RFC 7386 as a real server applies it (a list replaces the list, a null removes the member).</li>
 * </ul>
 * Each write's check and write are atomic (serialised). It also counts the requests it answered (per method and
 * resource: count, time in the dispatcher, conflicts), for the benchmarks and the conflict tests, and can refuse
 * reads as RBAC or a missing CRD would.
 */
public class StrictCrudDispatcher extends KubernetesCrudDispatcher {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> KINDS = List.of("virtualmachines", "vmmnodes", "events", "leases");
    /** "METHOD resource[/status]" → {requests, nanoseconds in the dispatcher, 409 answers}. */
    private final Map<String, long[]> requests = new ConcurrentHashMap<>();
    private final AtomicLong conflicts = new AtomicLong();
    /** Nanoseconds spent holding the write lock (writes are serialised): the server's busy time on writes. */
    private final AtomicLong writeBusy = new AtomicLong();
    /** User-Agent → {writes, 409 answers}: which writer collided how often (tests give each side its own agent). */
    private final Map<String, long[]> writers = new ConcurrentHashMap<>();

    /** Requests answered with an error instead (a 403 from RBAC, a 404 for a CRD not installed), or null. */
    private volatile Refusal refusal;

    public record Refusal(Predicate<RecordedRequest> matches, int code) {}

    public void refuse(Refusal r) {
        refusal = r;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        Refusal r = refusal;
        if (r != null && r.matches().test(request)) {
            return status(r.code(), r.code() == 403 ? "Forbidden" : "NotFound",
                    "refused by the test for " + request.getPath().split("\\?")[0]);
        }
        long t0 = System.nanoTime();
        MockResponse response = null;
        try {
            response = super.dispatch(request);
            return response;
        } finally {
            long[] c = requests.computeIfAbsent(request.getMethod() + " " + resource(request.getPath()), k -> new long[3]);
            boolean conflict = response != null && response.code() == 409;
            if (conflict) conflicts.incrementAndGet();
            if (!request.getMethod().equals("GET")) {
                String ua = String.valueOf(request.getHeader("User-Agent"));
                long[] w = writers.computeIfAbsent(ua, k -> new long[2]);
                synchronized (w) {
                    w[0]++;
                    if (conflict) w[1]++;
                }
            }
            synchronized (c) {
                c[0]++;
                c[1] += System.nanoTime() - t0;
                if (conflict) c[2]++;
            }
        }
    }

    /** The plural of the path (and /status), without names or query: "virtualmachines/status". */
    private static String resource(String path) {
        String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        String[] seg = p.split("/");
        int i = 0;
        while (i < seg.length && !KINDS.contains(seg[i])) i++;
        if (i == seg.length) return p.contains("watch") ? "watch" : "other";
        return seg[i] + (p.endsWith("/status") ? "/status" : "");
    }

    /** Requests answered so far, per "METHOD resource": {count, nanoseconds, conflicts}. */
    public Map<String, long[]> requests() {
        Map<String, long[]> out = new TreeMap<>();
        requests.forEach((k, v) -> {
            synchronized (v) {
                out.put(k, v.clone());
            }
        });
        return out;
    }

    /** Per User-Agent: {writes, 409 answers} so far. */
    public Map<String, long[]> writers() {
        Map<String, long[]> out = new TreeMap<>();
        writers.forEach((k, v) -> {
            synchronized (v) {
                out.put(k, v.clone());
            }
        });
        return out;
    }

    /** Nanoseconds the server has spent on writes so far, one at a time: divided by the wall time, its write load. */
    public long writeBusyNanos() {
        return writeBusy.get();
    }

    /** 409 Conflict answers so far. */
    public long conflicts() {
        return conflicts.get();
    }

    @Override
    public JsonNode merge(JsonNode baseResource, String patch) {
        try {
            return MergePatch.apply(baseResource.deepCopy(), JSON.readTree(patch));
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Override
    public synchronized MockResponse handleUpdate(RecordedRequest request) {
        long t0 = System.nanoTime();
        try {
            return update(request);
        } finally {
            writeBusy.addAndGet(System.nanoTime() - t0);
        }
    }

    private MockResponse update(RecordedRequest request) {
        String path = request.getPath().split("\\?")[0];
        if (path.contains("/apis/apiary.dev/")) {
            try {
                // getBytes() reads without consuming, so the stock handler still gets the body.
                JsonNode body = JSON.readTree(request.getBody().getBytes());
                String sent = body.path("metadata").path("resourceVersion").asText("");
                if (sent.isEmpty()) {
                    return status(422, "Invalid", "metadata.resourceVersion: Invalid value: 0x0: must be specified for"
                            + " an update");
                }
                String main = path.endsWith("/status") ? path.substring(0, path.length() - "/status".length()) : path;
                MockResponse current = super.handleGet(main);
                if (current.code() == 200) {
                    String stored = JSON.readTree(current.getBody().getBytes()).path("metadata").path("resourceVersion")
                            .asText("");
                    if (!sent.equals(stored)) {
                        return status(409, "Conflict", "Operation cannot be fulfilled: the object has been modified;"
                                + " please apply your changes to the latest version and try again");
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return super.handleUpdate(request);
    }

    @Override
    public synchronized MockResponse handleCreate(RecordedRequest request) {
        long t0 = System.nanoTime();
        try {
            return super.handleCreate(request);
        } finally {
            writeBusy.addAndGet(System.nanoTime() - t0);
        }
    }

    @Override
    public synchronized MockResponse handlePatch(RecordedRequest request) {
        long t0 = System.nanoTime();
        try {
            return super.handlePatch(request);
        } finally {
            writeBusy.addAndGet(System.nanoTime() - t0);
        }
    }

    @Override
    public synchronized MockResponse handleDelete(String path) {
        long t0 = System.nanoTime();
        try {
            return super.handleDelete(path);
        } finally {
            writeBusy.addAndGet(System.nanoTime() - t0);
        }
    }

    private static MockResponse status(int code, String reason, String message) {
        return new MockResponse().setResponseCode(code).setBody("{\"apiVersion\":\"v1\",\"kind\":\"Status\","
                + "\"status\":\"Failure\",\"code\":" + code + ",\"reason\":\"" + reason + "\",\"message\":"
                + JSON.valueToTree(message) + "}");
    }
}
