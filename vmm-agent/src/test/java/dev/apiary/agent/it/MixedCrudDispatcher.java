package dev.apiary.agent.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.crds.MergePatch;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.internal.MockDispatcher;
import io.fabric8.mockwebserver.internal.SimpleRequest;
import java.io.IOException;
import java.util.Map;
import java.util.Queue;

/**
 * The mock's mixed mode (recorded expectations first, CRUD for the rest, as {@code KubernetesMixedDispatcher}) with
 * JSON merge patches applied as RFC 7386 and a real API server do: the stock CRUD dispatcher appends a patch's list
 * to the stored one and stores nulls, so a finalizer removed by a merge patch would stay.
 */
final class MixedCrudDispatcher extends KubernetesCrudDispatcher {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Map<ServerRequest, Queue<ServerResponse>> responses;
    private final MockDispatcher expectations;

    MixedCrudDispatcher(Map<ServerRequest, Queue<ServerResponse>> responses) {
        this.responses = responses;
        this.expectations = new MockDispatcher(responses);
    }

    /** GET requests whose path contains this are answered 403 (RBAC not applied yet), or null. */
    private volatile String forbidden;

    void forbidReads(String pathPart) {
        forbidden = pathPart;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        String f = forbidden;
        if (f != null && request.getMethod().equals("GET") && request.getPath().contains(f)) {
            return new MockResponse().setResponseCode(403).setBody("{\"apiVersion\":\"v1\",\"kind\":\"Status\","
                    + "\"status\":\"Failure\",\"code\":403,\"reason\":\"Forbidden\",\"message\":\"forbidden by the test\"}");
        }
        Queue<ServerResponse> expected = responses.get(new SimpleRequest(HttpMethod.valueOf(request.getMethod()),
                request.getPath()));
        return expected != null && !expected.isEmpty() ? expectations.dispatch(request) : super.dispatch(request);
    }

    @Override
    public JsonNode merge(JsonNode baseResource, String patch) {
        try {
            return MergePatch.apply(baseResource.deepCopy(), JSON.readTree(patch));
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
