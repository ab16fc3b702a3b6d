package dev.apiary.agent.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/** A test's HTTP client for the agent API (trusts the agent's self-signed certificate). */
public final class AgentClient {
    private final HttpClient http;
    private final String base;

    public AgentClient(String base) {
        this.base = base;
        try {
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, new TrustManager[] {new X509TrustManager() {
                public void checkClientTrusted(X509Certificate[] c, String a) {}

                public void checkServerTrusted(X509Certificate[] c, String a) {}

                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            System.setProperty("jdk.internal.httpclient.disableHostnameVerification", "true");
            // Generous: a loaded 2-core CI runner with several JVMs and emulated guests can take seconds to accept.
            http = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(30)).build();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public HttpResponse<String> get(String path, String token) throws Exception {
        return send("GET", path, token);
    }

    public HttpResponse<String> post(String path, String token) throws Exception {
        return send("POST", path, token);
    }

    public HttpResponse<String> send(String method, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (token != null) b.header("Authorization", "Bearer " + token);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A console connection: everything received lands in {@code received} (text frames prefixed "T:"). */
    public static final class Console implements WebSocket.Listener {
        public final LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
        public final StringBuffer output = new StringBuffer();
        public WebSocket ws;

        @Override
        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
            received.add("T:" + data);
            w.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            String s = new String(b);
            output.append(s);
            received.add(s);
            w.request(1);
            return null;
        }
    }

    public Console console(String path, String token) throws Exception {
        Console c = new Console();
        c.ws = http.newWebSocketBuilder().header("Authorization", "Bearer " + token)
                .buildAsync(URI.create(base.replace("https:", "wss:").replace("http:", "ws:") + path), c)
                .get();
        return c;
    }

    /** A GET with the body as bytes (the screenshot). */
    public HttpResponse<byte[]> getBytes(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET();
        if (token != null) b.header("Authorization", "Bearer " + token);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** A WebSocket builder on this client (which trusts the agent's certificate). */
    public WebSocket.Builder webSocket() {
        return http.newWebSocketBuilder();
    }

    /** The WebSocket URI of an API path. */
    public URI wsUri(String path) {
        return URI.create(base.replace("https:", "wss:").replace("http:", "ws:") + path);
    }
}
