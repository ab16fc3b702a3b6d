package dev.apiary.agent.it;

import dev.apiary.crds.mock.StrictCrudDispatcher;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.internal.MockDispatcher;
import io.fabric8.mockwebserver.internal.SimpleRequest;
import java.util.Map;
import java.util.Queue;

/**
 * The mock's mixed mode (recorded expectations first, as {@code KubernetesMixedDispatcher}) over the strict CRUD
 * dispatcher every module's tests share ({@link StrictCrudDispatcher}: 409 on a stale resourceVersion for every write
 * path, status included; RFC 7386 merge patches).
 */
final class MixedCrudDispatcher extends StrictCrudDispatcher {
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
}
