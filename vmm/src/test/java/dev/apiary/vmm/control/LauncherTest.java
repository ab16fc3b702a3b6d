package dev.apiary.vmm.control;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.vmm.machine.OnEveryAccelerator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
}
