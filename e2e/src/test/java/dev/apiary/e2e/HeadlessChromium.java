package dev.apiary.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * noVNC (the npm package, fetched by scripts/fetch-novnc) in Debian's headless Chromium, driven through the Chrome
 * DevTools Protocol: a local HTTP server serves noVNC's ES modules and the test page (test resource
 * {@code novnc/apiary-vnc.html}), Chromium opens it, and the test reads the page's state and takes screenshots of
 * the page. Chromium is told to accept the agent's self-signed certificate.
 */
final class HeadlessChromium implements AutoCloseable {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpServer pages;
    private final Process browser;
    private final WebSocket page;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> replies = new ConcurrentHashMap<>();

    /** Why this host cannot run the browser test, or null. */
    static String unusableReason(Path root) {
        if (!Files.isExecutable(CHROMIUM)) return "Debian's chromium is not installed (scripts/install-deps --test)";
        if (novnc(root) == null) return "noVNC could not be fetched from the npm registry (scripts/fetch-novnc)";
        return null;
    }

    static Path novnc(Path root) {
        try {
            Process p = new ProcessBuilder(root.resolve("scripts/fetch-novnc").toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            return p.waitFor(300, TimeUnit.SECONDS) && p.exitValue() == 0 ? Path.of(out) : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    HeadlessChromium(Path novnc, Path profile) throws Exception {
        pages = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        pages.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            byte[] body = null;
            String type = "application/octet-stream";
            if (path.equals("/apiary-vnc.html")) {
                try (InputStream in = HeadlessChromium.class.getResourceAsStream("/novnc/apiary-vnc.html")) {
                    body = in.readAllBytes();
                }
                type = "text/html";
            } else if (path.startsWith("/novnc/") && !path.contains("..")) {
                Path f = novnc.resolve(path.substring("/novnc/".length()));
                if (Files.isRegularFile(f)) {
                    body = Files.readAllBytes(f);
                    type = path.endsWith(".js") ? "text/javascript" : type; // module scripts need a JavaScript type
                }
            }
            if (body == null) {
                ex.sendResponseHeaders(404, -1);
            } else {
                ex.getResponseHeaders().set("Content-Type", type);
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            }
            ex.close();
        });
        pages.start();
        Files.createDirectories(profile);
        browser = new ProcessBuilder(CHROMIUM.toString(), "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--ignore-certificate-errors", "--remote-debugging-port=0",
                "--user-data-dir=" + profile, "--window-size=1024,768", "--force-device-scale-factor=1",
                "--force-color-profile=srgb", "about:blank")
                .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
        // Chromium writes the port it chose into DevToolsActivePort in its profile.
        Path active = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(active) || Files.readString(active).isBlank()) {
            if (!browser.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("chromium did not start: " + Files.readString(profile.resolve("chromium.log")));
            }
            Thread.sleep(100);
        }
        int port = Integer.parseInt(Files.readString(active).lines().findFirst().orElseThrow().strip());
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> tab = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/json/new?about:blank")).PUT(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        String ws = JSON.readTree(tab.body()).get("webSocketDebuggerUrl").asText();
        page = http.newWebSocketBuilder().buildAsync(URI.create(ws), new WebSocket.Listener() {
            private final StringBuilder text = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    try {
                        JsonNode m = JSON.readTree(text.toString());
                        CompletableFuture<JsonNode> f = m.has("id") ? replies.remove(m.get("id").asInt()) : null;
                        if (f != null) f.complete(m);
                    } catch (IOException e) {
                        // not for us
                    }
                    text.setLength(0);
                }
                w.request(1);
                return null;
            }
        }).get(30, TimeUnit.SECONDS);
    }

    /** One DevTools command; its result object (an error reply is an exception). */
    JsonNode call(String method, ObjectNode params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> f = new CompletableFuture<>();
        replies.put(id, f);
        ObjectNode m = JSON.createObjectNode().put("id", id).put("method", method);
        m.set("params", params);
        page.sendText(JSON.writeValueAsString(m), true).get(30, TimeUnit.SECONDS);
        JsonNode r = f.get(60, TimeUnit.SECONDS);
        if (r.has("error")) throw new IOException(method + ": " + r.get("error"));
        return r.get("result");
    }

    /** Opens the test page, connected to {@code vncUrl} with {@code token}. */
    void openViewer(String vncUrl, String token) throws Exception {
        String url = "http://127.0.0.1:" + pages.getAddress().getPort() + "/apiary-vnc.html#url="
                + URLEncoder.encode(vncUrl, StandardCharsets.UTF_8) + "&token=" + URLEncoder.encode(token, StandardCharsets.UTF_8);
        call("Page.navigate", JSON.createObjectNode().put("url", url));
    }

    /** A JavaScript expression's value, as text. */
    String evaluate(String expression) throws Exception {
        JsonNode r = call("Runtime.evaluate", JSON.createObjectNode().put("expression", expression).put("returnByValue", true));
        return r.path("result").path("value").asText();
    }

    /** A PNG screenshot of the page. */
    byte[] screenshot() throws Exception {
        JsonNode r = call("Page.captureScreenshot", JSON.createObjectNode().put("format", "png"));
        return Base64.getDecoder().decode(r.get("data").asText());
    }

    @Override
    public void close() {
        page.abort();
        browser.destroy();
        try {
            if (!browser.waitFor(10, TimeUnit.SECONDS)) browser.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pages.stop(0);
    }
}
