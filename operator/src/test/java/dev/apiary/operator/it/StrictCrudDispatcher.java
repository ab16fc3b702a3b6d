package dev.apiary.operator.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;

/**
 * The mock's CRUD dispatcher made to answer a PUT to {@code /status} with a stale resourceVersion by 409 Conflict,
 * as a real API server does (the stock mock accepts it and overwrites). Writes are serialised so check and write
 * are atomic. Without this, tests would pass on behaviour a real server refuses — or fail on overwrites it never
 * allows.
 */
final class StrictCrudDispatcher extends KubernetesCrudDispatcher {
    private static final ObjectMapper JSON = new ObjectMapper();

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
