package dev.apiary.vmm.control;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.vmm.display.KitPattern;
import dev.apiary.vmm.display.RfbTestClient;
import dev.apiary.vmm.machine.OnEveryAccelerator;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import javax.imageio.ImageIO;

/** `vmm launch`: the runtime directory and control socket the agent relies on (docs/vmm-process.md). */
class LauncherTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path KIT = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath().normalize()
            .resolve("guestkit/target/apiary-kit.bzImage");

    static String http(Path sock, String method, String path) throws Exception {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(sock));
            c.write(ByteBuffer.wrap((method + " " + path + " HTTP/1.1\r\nHost: vmm\r\nContent-Length: 0\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII)));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (c.read(buf.clear()) > 0) {
                out.write(buf.array(), 0, buf.position());
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    /** The body of a response as bytes (after the blank line), with the status line checked. */
    static byte[] httpBody(Path sock, String path, int status) throws Exception {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(sock));
            c.write(ByteBuffer.wrap(("GET " + path + " HTTP/1.1\r\nHost: vmm\r\nContent-Length: 0\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII)));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(65536);
            while (c.read(buf.clear()) > 0) {
                out.write(buf.array(), 0, buf.position());
            }
            byte[] all = out.toByteArray();
            String head = new String(all, StandardCharsets.ISO_8859_1);
            assertTrue(head.startsWith("HTTP/1.1 " + status), head.lines().findFirst().orElse(""));
            int body = head.indexOf("\r\n\r\n") + 4;
            return Arrays.copyOfRange(all, body, all.length);
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier cond, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!cond.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    @OnEveryAccelerator
    void runtimeDirectoryAndControlSocket(Accelerator accel, @TempDir Path tmp) throws Exception {
        Path images = Files.createDirectories(tmp.resolve("images"));
        Files.copy(KIT, images.resolve("kit.bzImage"));
        Path rt = Files.createDirectories(tmp.resolve("rt"));
        Files.writeString(rt.resolve("spec.json"), """
                {"apiVersion":"apiary.dev/v1alpha1","kind":"VirtualMachine","metadata":{"name":"t","namespace":"ns"},
                 "spec":{"accelerator":"%s","cpus":2,"memory":"128Mi","serial":{"historyBytes":"8Ki"},
                 "boot":{"kernel":{"path":"kit.bzImage","cmdline":"kit.tests=banner,cpus kit.exit=halt"}}}}"""
                .formatted(accel));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(
                () -> new Launcher(rt, images, new PrintStream(err, true)).run());
        RuntimeDir d = new RuntimeDir(rt);
        waitFor(() -> {
            try {
                return Files.exists(d.serialLog()) && Files.readString(d.serialLog()).contains("KIT done");
            } catch (Exception e) {
                return false;
            }
        }, "KIT done in serial.log");
        assertEquals(String.valueOf(ProcessHandle.current().pid()), Files.readString(d.pidFile()).strip());
        waitFor(() -> {
            try {
                return JSON.readTree(d.stateFile().toFile()).path("bootMillis").isNumber();
            } catch (Exception e) {
                return false;
            }
        }, "bootMillis in state.json");
        JsonNode state = JSON.readTree(d.stateFile().toFile());
        assertEquals("Running", state.get("phase").asText());
        assertEquals(2, state.get("vcpus").asInt());
        assertEquals(accel.name(), state.get("accelerator").asText());
        assertTrue(state.get("devices").toString().contains("lpc-uart-com1"));

        String got = http(d.controlSocket(), "GET", "/v1/state");
        assertTrue(got.startsWith("HTTP/1.1 200"), got);
        assertTrue(got.contains("\"phase\":\"Running\""), got);
        assertTrue(http(d.controlSocket(), "GET", "/v1/nope").startsWith("HTTP/1.1 404"));
        assertTrue(http(d.controlSocket(), "GET", "/v1/stop").startsWith("HTTP/1.1 405"));

        // Pause and resume: vCPU threads go away and come back; the state file follows.
        assertTrue(http(d.controlSocket(), "POST", "/v1/pause").startsWith("HTTP/1.1 202"));
        assertEquals("Paused", JSON.readTree(d.stateFile().toFile()).get("phase").asText());
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("vcpu-")),
                "no vCPU thread while paused");
        assertTrue(http(d.controlSocket(), "POST", "/v1/pause").startsWith("HTTP/1.1 409"));
        assertTrue(http(d.controlSocket(), "POST", "/v1/resume").startsWith("HTTP/1.1 202"));
        assertEquals("Running", JSON.readTree(d.stateFile().toFile()).get("phase").asText());
        assertEquals(2, Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("vcpu-")).count());
        assertTrue(http(d.controlSocket(), "POST", "/v1/resume").startsWith("HTTP/1.1 409"));

        // A hard reset boots the guest again in the same process; its output continues the history.
        assertTrue(http(d.controlSocket(), "POST", "/v1/reset").startsWith("HTTP/1.1 202"));
        waitFor(() -> {
            try {
                return Files.readString(d.serialLog()).split("KIT start", -1).length == 3;
            } catch (Exception e) {
                return false;
            }
        }, "a second boot in serial.log");

        assertTrue(http(d.controlSocket(), "POST", "/v1/stop").startsWith("HTTP/1.1 202"));
        assertEquals(0, exit.get(60, TimeUnit.SECONDS));
        JsonNode ex = JSON.readTree(d.exitFile().toFile());
        assertEquals("Stopped", ex.get("reason").asText());
        assertEquals(0, ex.get("code").asInt());
        assertFalse(Files.exists(d.controlSocket()), "control socket removed at exit");
    }

    /** A UEFI VM's variable store is the runtime directory's uefi-vars.fd, made from the template, kept across runs. */
    @Test
    void firmwareVmKeepsItsVariableStoreInTheRuntimeDirectory(@TempDir Path tmp) throws Exception {
        Path code = Path.of("/usr/share/OVMF/OVMF_CODE_4M.fd");
        Path vars = Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd");
        assertTrue(Files.isRegularFile(code) && Files.isRegularFile(vars),
                "Debian's ovmf package is not installed (scripts/install-deps --test installs it)");
        Path images = Files.createDirectories(tmp.resolve("images/ovmf"));
        Files.copy(code, images.resolve("OVMF_CODE_4M.fd"));
        Files.copy(vars, images.resolve("OVMF_VARS_4M.fd"));
        Path rt = Files.createDirectories(tmp.resolve("rt"));
        Files.writeString(rt.resolve("spec.json"), """
                {"apiVersion":"apiary.dev/v1alpha1","kind":"VirtualMachine","metadata":{"name":"u","namespace":"ns"},
                 "spec":{"accelerator":"Emulated","cpus":1,"memory":"128Mi",
                 "boot":{"firmware":{"path":"ovmf/OVMF_CODE_4M.fd"}}}}""");
        RuntimeDir d = new RuntimeDir(rt);
        for (int run = 0; run < 2; run++) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(
                    () -> new Launcher(rt, tmp.resolve("images"), new PrintStream(err, true)).run());
            waitFor(() -> {
                try {
                    return Files.exists(d.stateFile())
                            && JSON.readTree(d.stateFile().toFile()).path("phase").asText().equals("Running");
                } catch (Exception e) {
                    return false;
                }
            }, "Running in state.json");
            assertTrue(Files.isRegularFile(d.uefiVars()), "the VM's store is in its runtime directory");
            assertEquals(Files.size(vars), Files.size(d.uefiVars()));
            if (run == 0) {
                // what the guest would have written: the next run must find it, not a fresh template copy
                try (var f = java.nio.channels.FileChannel.open(d.uefiVars(), java.nio.file.StandardOpenOption.WRITE)) {
                    f.write(ByteBuffer.wrap(new byte[] {0x55}), Files.size(vars) - 1);
                }
            }
            assertTrue(http(d.controlSocket(), "POST", "/v1/stop").startsWith("HTTP/1.1 202"));
            assertEquals(0, exit.get(60, TimeUnit.SECONDS), err.toString());
            Files.delete(d.stateFile());
        }
        byte[] store = Files.readAllBytes(d.uefiVars());
        assertEquals(0x55, store[store.length - 1], "the store survived the restart");
    }

    @Test
    void badSpecIsReportedInExitJson(@TempDir Path tmp) throws Exception {
        Path rt = Files.createDirectories(tmp.resolve("rt"));
        Files.writeString(rt.resolve("spec.json"), """
                {"kind":"VirtualMachine","spec":{"boot":{"kernel":{"path":"/etc/passwd"}}}}""");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(2, new Launcher(rt, tmp, new PrintStream(err, true)).run());
        JsonNode ex = JSON.readTree(rt.resolve("exit.json").toFile());
        assertEquals("BadInput", ex.get("reason").asText());
        assertTrue(ex.get("message").asText().contains("spec.boot.kernel.path"), ex.toString());
        assertTrue(err.toString().contains("absolute paths are not allowed"), err.toString());
    }

    /**
     * {@code display: {vnc: true}}: the screenshot on the control socket and a viewer on vnc.sock both show the
     * kit's pattern; state.json says the display's size. Without a display: 409 and no vnc.sock.
     */
    @OnEveryAccelerator
    void screenshotOnTheControlSocketAndVncOnItsUnixSocket(Accelerator accel, @TempDir Path tmp) throws Exception {
        Path images = Files.createDirectories(tmp.resolve("images"));
        Files.copy(KIT, images.resolve("kit.bzImage"));
        Path rt = Files.createDirectories(tmp.resolve("rt"));
        Files.writeString(rt.resolve("spec.json"), """
                {"apiVersion":"apiary.dev/v1alpha1","kind":"VirtualMachine","metadata":{"name":"screen","namespace":"ns"},
                 "spec":{"accelerator":"%s","cpus":1,"memory":"64Mi","display":{"vnc":true,"width":320,"height":200},
                 "boot":{"kernel":{"path":"kit.bzImage","cmdline":"kit.tests=ramfb kit.ramfb=320x200 kit.exit=halt"}}}}"""
                .formatted(accel));
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(
                () -> new Launcher(rt, images, new PrintStream(new ByteArrayOutputStream(), true)).run());
        RuntimeDir d = new RuntimeDir(rt);
        waitFor(() -> {
            try {
                return Files.exists(d.serialLog()) && Files.readString(d.serialLog()).contains("KIT done");
            } catch (Exception e) {
                return false;
            }
        }, "KIT done in serial.log");
        assertTrue(Files.readString(d.serialLog()).contains("KIT ramfb ok"), Files.readString(d.serialLog()));
        JsonNode display = JSON.readTree(d.stateFile().toFile()).get("display");
        assertEquals(320, display.get("width").asInt());
        assertEquals(200, display.get("height").asInt());
        assertTrue(display.get("vnc").asBoolean());
        int[] expected = KitPattern.pixels(320, 200);

        BufferedImage png = ImageIO.read(new ByteArrayInputStream(httpBody(d.controlSocket(), "/v1/screenshot.png", 200)));
        assertEquals(320, png.getWidth());
        assertNull(KitPattern.firstDifference(320, 200, expected, png.getRGB(0, 0, 320, 200, null, 0, 320)));

        try (RfbTestClient c = new RfbTestClient(d.vncSocket()).connect()) {
            assertEquals(320, c.width);
            assertEquals(200, c.height);
            assertEquals("screen", c.name);
            c.setEncodings(0);
            c.requestAll(false);
            c.readUpdate();
            int[] got = new int[c.pixels.length];
            for (int i = 0; i < got.length; i++) {
                got[i] = 0xFF00_0000 | c.pixels[i]; // the server's native format: X-R-G-B, little-endian
            }
            assertNull(KitPattern.firstDifference(320, 200, expected, got));
        }
        assertTrue(http(d.controlSocket(), "POST", "/v1/screenshot.png").startsWith("HTTP/1.1 405"));
        assertTrue(http(d.controlSocket(), "POST", "/v1/stop").startsWith("HTTP/1.1 202"));
        assertEquals(0, exit.get(60, TimeUnit.SECONDS));
        assertFalse(Files.exists(d.vncSocket()), "vnc.sock removed at exit");

        // The same VM without a display.
        Path rt2 = Files.createDirectories(tmp.resolve("rt2"));
        Files.writeString(rt2.resolve("spec.json"), """
                {"apiVersion":"apiary.dev/v1alpha1","kind":"VirtualMachine","metadata":{"name":"plain","namespace":"ns"},
                 "spec":{"accelerator":"%s","cpus":1,"memory":"64Mi",
                 "boot":{"kernel":{"path":"kit.bzImage","cmdline":"kit.tests=banner kit.exit=halt"}}}}""".formatted(accel));
        exit = CompletableFuture.supplyAsync(
                () -> new Launcher(rt2, images, new PrintStream(new ByteArrayOutputStream(), true)).run());
        RuntimeDir d2 = new RuntimeDir(rt2);
        waitFor(() -> Files.exists(d2.controlSocket()), "control.sock");
        assertTrue(new String(httpBody(d2.controlSocket(), "/v1/screenshot.png", 409)).contains("no display"));
        assertFalse(Files.exists(d2.vncSocket()));
        assertFalse(JSON.readTree(d2.stateFile().toFile()).has("display"));
        http(d2.controlSocket(), "POST", "/v1/stop");
        assertEquals(0, exit.get(60, TimeUnit.SECONDS));
    }
}
