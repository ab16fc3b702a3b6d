package dev.apiary.e2e;

import static dev.apiary.agent.it.MockApiServer.await;
import static dev.apiary.e2e.EndToEndIT.awaitRunning;
import static dev.apiary.e2e.EndToEndIT.body;
import static dev.apiary.e2e.EndToEndIT.kubectl;
import static dev.apiary.e2e.EndToEndIT.kubectlFails;
import static dev.apiary.e2e.EndToEndIT.withToken;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.apiary.agent.it.AgentClient;
import dev.apiary.crds.VmmNode;
import dev.apiary.kubectlvm.KubectlVm;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM's screen on a cluster, with the real VMM booting the guest kit's ramfb check: the agent's screenshot and its
 * RFB-over-WebSocket bridge (header and subprotocol tokens, two pixel formats), {@code kubectl vm screenshot} and
 * {@code kubectl vm vnc} with a Java viewer and Debian's vncsnapshot on the local port, and every refusal (401, 403,
 * 404, 409) in the agent's and the plugin's words.
 */
class DisplayIT {
    static final long T = 60_000;
    static final int W = 640;
    static final int H = 480;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path tmp;

    /** A guest-kit VM with a display: draws the pattern into ramfb, waits for two scancodes, and stays up. */
    static String displayVmYaml(String name) {
        return """
                apiVersion: apiary.dev/v1alpha1
                kind: VirtualMachine
                metadata:
                  name: %s
                  namespace: default
                  annotations: {apiary.dev/stop-grace-period: 1s}
                spec:
                  runStrategy: Always
                  cpus: 1
                  memory: 64Mi
                  display: {vnc: true, width: %d, height: %d}
                  boot:
                    kernel:
                      path: apiary-kit.bzImage
                      cmdline: "console=ttyS0 kit.tests=ramfb,kbd kit.ramfb=%dx%d kit.kbd.count=2 kit.kbd.ms=600000 kit.exit=halt"
                """.formatted(name, W, H, W, H);
    }

    static int[] argb(BufferedImage img) {
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }

    /** A WebSocket to the agent's VNC bridge; the token in the Authorization header, or else in the subprotocol. */
    static WebSocketStream vnc(AgentClient api, String vm, String token, boolean headerToken) throws Exception {
        WebSocketStream s = new WebSocketStream();
        WebSocket.Builder b = api.webSocket();
        if (headerToken) {
            b.header("Authorization", "Bearer " + token).subprotocols("binary");
        } else {
            String t = Base64.getUrlEncoder().withoutPadding().encodeToString(token.getBytes(StandardCharsets.UTF_8));
            b.subprotocols("binary", "base64url.bearer.authorization.k8s.io." + t);
        }
        s.ws = b.buildAsync(api.wsUri("/v1/vms/default/" + vm + "/vnc"), s).get(30, TimeUnit.SECONDS);
        return s;
    }

    /** The HTTP status a refused WebSocket upgrade got. */
    static int refusedUpgrade(AgentClient api, String vm, String token) throws Exception {
        try {
            vnc(api, vm, token, true).close();
            return 101;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) return h.getResponse().statusCode();
            throw e;
        }
    }

    @Test
    void theScreenThroughTheAgentKubectlAndRealViewers() throws Exception {
        Path root = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath().normalize();
        String why = Cluster.unusableReason(root);
        assumeTrue(why == null, () -> "skipped: " + why);
        try (Cluster c = new Cluster(tmp)) {
            c.api.token("alice-token", "alice").token("carol-token", "carol")
                    .grant("alice", "get", "default", "*").grant("alice", "update", "default", "*")
                    .grant("alice", "list", "default", "*").grant("carol", "get", "default", "*");
            c.startOperator();
            c.startAgent();
            await("VmmNode", () -> c.api.client.resources(VmmNode.class).withName(Cluster.NODE).get(),
                    n -> n != null && n.getStatus() != null && n.getStatus().heartbeatTime != null, T);
            c.apply(displayVmYaml("screen"));
            c.apply(Cluster.vmYaml("plain", "Always"));
            awaitRunning(c, "screen", 1);
            awaitRunning(c, "plain", 1);
            AgentClient api = new AgentClient(c.agent().endpoint());
            String serial = await("the kit's ramfb check", () -> body(api, "/v1/vms/default/screen/serial", "alice-token"),
                    s -> s.contains("KIT ramfb") && s.contains("KIT kbd ready"), T);
            assertTrue(serial.contains("KIT ramfb ok"), serial);
            int[] expected = ScreenPattern.pixels(W, H);

            // The screenshot through the agent: a PNG of the pattern, pixel for pixel; `get` is enough.
            HttpResponse<byte[]> shot = api.getBytes("/v1/vms/default/screen/screenshot.png", "carol-token");
            assertEquals(200, shot.statusCode(), new String(shot.body()));
            assertEquals("image/png", shot.headers().firstValue("Content-Type").orElse(""));
            BufferedImage png = ImageIO.read(new ByteArrayInputStream(shot.body()));
            assertEquals(W, png.getWidth());
            assertEquals(H, png.getHeight());
            assertNull(ScreenPattern.firstDifference(W, H, expected, argb(png)));

            // Refusals: no token 401, a reader may not type into the screen 403, unknown VM 404, no display 409.
            assertEquals(401, api.getBytes("/v1/vms/default/screen/screenshot.png", null).statusCode());
            assertEquals(404, api.getBytes("/v1/vms/default/nosuch/screenshot.png", "alice-token").statusCode());
            HttpResponse<String> plain = api.get("/v1/vms/default/plain/screenshot.png", "alice-token");
            assertEquals(409, plain.statusCode());
            assertTrue(plain.body().contains("no display"), plain.body());
            assertEquals(409, api.get("/v1/vms/default/plain/vnc", "alice-token").statusCode());
            assertEquals(400, api.get("/v1/vms/default/screen/vnc", "alice-token").statusCode());
            assertEquals(401, refusedUpgrade(api, "screen", "wrong"));
            assertEquals(403, refusedUpgrade(api, "screen", "carol-token"));
            assertEquals(404, refusedUpgrade(api, "nosuch", "alice-token"));
            assertEquals(409, refusedUpgrade(api, "plain", "alice-token"));

            // RFB over the agent's WebSocket, token in the header: the server's format (X-R-G-B, 32 bits).
            try (WebSocketStream s = vnc(api, "screen", "alice-token", true);
                 RfbViewer v = new RfbViewer(s.in, s.out, s).handshake()) {
                assertEquals("binary", s.ws.getSubprotocol());
                assertEquals(W, v.width);
                assertEquals(H, v.height);
                assertEquals("screen", v.name);
                v.readFullScreen();
                assertNull(ScreenPattern.firstDifference(W, H, expected, v.pixels));
                // A key typed through the agent reaches the guest's 8042 as set-1 make and break codes.
                v.key(0x61, true);
                v.key(0x61, false);
            }
            String kbd = await("the key in the guest", () -> body(api, "/v1/vms/default/screen/serial", "alice-token"),
                    s -> s.contains("KIT kbd ") && !s.substring(s.lastIndexOf("KIT kbd ")).startsWith("KIT kbd ready"), T);
            assertTrue(kbd.contains("KIT kbd ok scancodes=1e,9e"), kbd);
            // Token in the subprotocol (as a browser sends it) and RGB565 big-endian, a second viewer at once.
            try (WebSocketStream s1 = vnc(api, "screen", "alice-token", false);
                 RfbViewer v1 = new RfbViewer(s1.in, s1.out, s1).handshake();
                 WebSocketStream s2 = vnc(api, "screen", "alice-token", false);
                 RfbViewer v2 = new RfbViewer(s2.in, s2.out, s2).handshake()) {
                assertEquals("binary", s1.ws.getSubprotocol());
                v1.pixelFormat(16, 16, true, 31, 63, 31, 11, 5, 0);
                v1.readFullScreen();
                v2.readFullScreen();
                for (int i = 0; i < W * H; i++) {
                    int e = expected[i];
                    int rgb565 = Math.round(((e >> 16) & 0xFF) * 31 / 255f) << 11
                            | Math.round(((e >> 8) & 0xFF) * 63 / 255f) << 5 | Math.round((e & 0xFF) * 31 / 255f);
                    if (v1.pixels[i] != rgb565) fail("RGB565 pixel " + i % W + "," + i / W + ": " + v1.pixels[i]);
                }
                assertNull(ScreenPattern.firstDifference(W, H, expected, v2.pixels));
            }

            // kubectl vm screenshot, and its refusals in one line.
            Path file = tmp.resolve("screen.png");
            String out = kubectl(c, "screenshot", "screen", "-o", file.toString());
            assertTrue(out.contains("wrote " + file), out);
            assertNull(ScreenPattern.firstDifference(W, H, expected, argb(ImageIO.read(file.toFile()))));
            assertTrue(kubectlFails(c, "screenshot", "plain", "-o", tmp.resolve("p.png").toString())
                    .contains("VM plain: this VM has no display"));
            assertTrue(kubectlFails(c, "vnc", "plain").contains("VM plain: this VM has no display"));
            assertTrue(kubectlFails(c, "vnc", "nosuch").contains("not found"));

            // kubectl vm vnc: a local port for any viewer, until interrupted.
            ByteArrayOutputStream vncOut = new ByteArrayOutputStream();
            ByteArrayOutputStream vncErr = new ByteArrayOutputStream();
            int[] rc = {-1};
            Thread plugin = new Thread(() -> rc[0] = KubectlVm.run(withToken(new String[] {"vnc", "screen"}),
                    c.api::newClient, new PrintStream(vncOut, true), new PrintStream(vncErr, true)), "kubectl-vm-vnc");
            plugin.start();
            String line = await("kubectl vm vnc's port", () -> vncOut.toString(), s -> s.contains("127.0.0.1:"), T);
            Matcher m = Pattern.compile("127\\.0\\.0\\.1:(\\d+)").matcher(line);
            assertTrue(m.find(), line);
            int port = Integer.parseInt(m.group(1));
            try (Socket sock = new Socket(InetAddress.getLoopbackAddress(), port);
                 RfbViewer v = new RfbViewer(sock.getInputStream(), sock.getOutputStream(), sock).handshake()) {
                v.readFullScreen();
                assertNull(ScreenPattern.firstDifference(W, H, expected, v.pixels));
            }
            vncsnapshot(port, expected);
            plugin.interrupt();
            plugin.join(TimeUnit.SECONDS.toMillis(30));
            assertEquals(0, rc[0], "kubectl vm vnc ends when interrupted: " + vncErr);

            noVncInChromium(root, api);
        }
    }

    /**
     * noVNC from the npm registry in Debian's headless Chromium, through the agent's WebSocket with the token in the
     * bearer subprotocol: a screenshot of the page holds the guest's pattern, pixel for pixel. Skipped where
     * Chromium or noVNC is missing (scripts/install-deps --test installs both).
     */
    private void noVncInChromium(Path root, AgentClient api) throws Exception {
        String why = HeadlessChromium.unusableReason(root);
        if (why != null) {
            System.out.println("SKIP noVNC in Chromium: " + why);
            return;
        }
        long t0 = System.nanoTime();
        try (HeadlessChromium b = new HeadlessChromium(HeadlessChromium.novnc(root), tmp.resolve("chromium"))) {
            b.openViewer(api.wsUri("/v1/vms/default/screen/vnc").toString(), "alice-token");
            String state = await("noVNC connected", () -> quietly(() -> b.evaluate("String(window.apiaryState)")),
                    s -> s != null && !s.isEmpty() && !s.equals("connecting") && !s.equals("undefined"), T);
            assertEquals("connected", state);
            assertEquals("screen", b.evaluate("String(window.apiaryDesktop)"));
            byte[][] shot = new byte[1][];
            String at = await("the guest's screen in a screenshot of the page", () -> quietly(() -> {
                shot[0] = b.screenshot();
                BufferedImage img = ImageIO.read(new ByteArrayInputStream(shot[0]));
                return ScreenPattern.locate(argb(img), img.getWidth(), img.getHeight(), W, H);
            }), s -> s != null, T);
            System.out.printf("noVNC in Chromium shows the pattern at %s of the page (%.1f s)%n", at,
                    (System.nanoTime() - t0) / 1e9);
            Files.write(tmp.resolve("novnc-page.png"), shot[0]);
        }
    }

    interface Step<T> {
        T get() throws Exception;
    }

    static <T> T quietly(Step<T> s) {
        try {
            return s.get();
        } catch (Exception e) {
            return null;
        }
    }

    /**
     * Debian's vncsnapshot through {@code kubectl vm vnc}: a real viewer that asks for its own pixel format (32 bits,
     * blue-green-red) and writes a JPEG, so the bars are compared within JPEG's error. Skipped where it is not
     * installed (scripts/install-deps --test installs it).
     */
    private void vncsnapshot(int port, int[] expected) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/vncsnapshot"))) {
            System.out.println("SKIP vncsnapshot: /usr/bin/vncsnapshot is not installed (scripts/install-deps --test)");
            return;
        }
        Path jpeg = tmp.resolve("vncsnapshot.jpg");
        Process p = new ProcessBuilder("vncsnapshot", "-allowblank", "-quality", "100", "127.0.0.1::" + port,
                jpeg.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "vncsnapshot did not finish: " + log);
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("shift red 0 green 8 blue 16"), "vncsnapshot's own pixel format: " + log);
        BufferedImage img = ImageIO.read(jpeg.toFile());
        assertEquals(W, img.getWidth());
        assertEquals(H, img.getHeight());
        assertNull(ScreenPattern.barsDifference(W, H, argb(img), 24), log);
    }
}
