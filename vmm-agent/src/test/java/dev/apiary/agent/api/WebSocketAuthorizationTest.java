package dev.apiary.agent.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** Where a WebSocket's bearer token comes from: the Authorization header, else Kubernetes' bearer subprotocol. */
class WebSocketAuthorizationTest {
    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theHeaderWins() {
        assertEquals("Bearer a", AgentApi.webSocketAuthorization("Bearer a",
                "binary, base64url.bearer.authorization.k8s.io." + b64("b")));
    }

    @Test
    void aBrowserSendsTheTokenAsASubprotocol() {
        String token = "eyJhbGciOi.some-token/with+chars=";
        assertEquals("Bearer " + token, AgentApi.webSocketAuthorization(null,
                "binary, base64url.bearer.authorization.k8s.io." + b64(token)));
        assertEquals("Bearer " + token, AgentApi.webSocketAuthorization(null,
                "base64url.bearer.authorization.k8s.io." + b64(token) + ",binary"));
    }

    @Test
    void nothingUsableIsNoToken() {
        assertNull(AgentApi.webSocketAuthorization(null, null));
        assertNull(AgentApi.webSocketAuthorization(null, "binary"));
        assertNull(AgentApi.webSocketAuthorization(null, "base64url.bearer.authorization.k8s.io.!!not-base64!!"));
    }
}
