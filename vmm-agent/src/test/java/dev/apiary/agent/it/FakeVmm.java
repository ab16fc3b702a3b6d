package dev.apiary.agent.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plays the VMM's side of docs/vmm-process.md for agent tests that need no KVM: {@code launch --runtime-dir DIR}
 * writes vmm.pid, state.json, serial.log, serves control.sock and serial.sock, and ends with exit.json. The
 * kernel command line in spec.json steers it: {@code fake.exit=poweroff} powers off after fake.after ms,
 * {@code fake.acpi=1} powers off on the power button (else it ignores it), {@code fake.bad=1} fails as bad input,
 * {@code fake.nokvm=1} acts as on a host without KVM. Accelerators as the real VMM: {@code doctor --json} reports KVM
 * (available when this host's /dev/kvm is usable) and Emulated (always); {@code launch} honours spec.accelerator
 * (Auto: KVM if usable, else Emulated; KVM where it is not usable: exit 2, BadInput) and writes what the run got as
 * state.json's {@code accelerator}.
 */
public final class FakeVmm {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path dir;
    private static final Instant STARTED = Instant.now();
    /** What this run got: KVM or Emulated. */
    private static String accelerator;

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("doctor")) {
            doctor();
            return;
        }
        dir = Path.of(args[List.of(args).indexOf("--runtime-dir") + 1]);
        JsonNode spec = JSON.readTree(dir.resolve("spec.json").toFile());
        String cmdline = spec.path("spec").path("boot").path("kernel").path("cmdline").asText("");
        Map<String, String> opt = new LinkedHashMap<>();
        for (String w : cmdline.split("\\s+")) {
            int eq = w.indexOf('=');
            if (w.startsWith("fake.") && eq > 0) opt.put(w.substring(5, eq), w.substring(eq + 1));
        }
        if (opt.containsKey("bad")) {
            System.err.println("vmm: spec.boot.kernel.path: no such file: " + spec.path("spec").path("boot")
                    .path("kernel").path("path").asText());
            exit(2, "BadInput", "spec.boot.kernel.path: no such file");
        }
        String kvmMissing = opt.containsKey("nokvm") ? "/dev/kvm does not exist" : kvmMissing();
        String wanted = spec.path("spec").path("accelerator").asText("Auto");
        if (wanted.equals("KVM") && kvmMissing != null) {
            String why = "spec.accelerator: KVM is not usable on this host: " + kvmMissing;
            System.err.println("vmm: " + why);
            exit(2, "BadInput", why);
        }
        accelerator = wanted.equals("Emulated") || kvmMissing != null ? "Emulated" : "KVM";
        Files.writeString(dir.resolve("vmm.pid"), Long.toString(ProcessHandle.current().pid()));
        state("Starting", null);
        serial("KIT banner ok\n");
        Thread control = new Thread(() -> serveControl(opt));
        control.setDaemon(true);
        control.start();
        Thread console = new Thread(FakeVmm::serveSerial);
        console.setDaemon(true);
        console.start();
        // As the real VMM: the sockets exist before state.json says Running.
        while (!Files.exists(dir.resolve("control.sock")) || !Files.exists(dir.resolve("serial.sock"))) Thread.sleep(5);
        state("Running", 12L);
        if ("poweroff".equals(opt.get("exit"))) {
            Thread.sleep(Long.parseLong(opt.getOrDefault("after", "300")));
            serial("KIT poweroff\n");
            exit(0, "PowerOff", "the guest powered off");
        }
        Thread.sleep(Long.MAX_VALUE);
    }

    /** Why this host's KVM cannot be used, or null when /dev/kvm is there and open to this process. */
    static String kvmMissing() {
        Path kvm = Path.of("/dev/kvm");
        if (!Files.exists(kvm)) return "/dev/kvm does not exist";
        if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) return "/dev/kvm is not readable and writable";
        return null;
    }

    /** {@code vmm doctor --json}: the fields of docs/vmm-process.md, "Host facts", for this host. */
    static void doctor() throws IOException {
        String missing = kvmMissing();
        Map<String, Object> kvm = new LinkedHashMap<>();
        kvm.put("name", "KVM");
        kvm.put("available", missing == null);
        kvm.put("fullGuests", false);
        kvm.put("reason", missing == null ? "fake VMM: KVM usable, full guests not probed" : missing);
        Map<String, Object> soft = new LinkedHashMap<>();
        soft.put("name", "Emulated");
        soft.put("available", true);
        soft.put("fullGuests", false);
        soft.put("reason", "software x86-64 CPU");
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("kvmPresent", Files.exists(Path.of("/dev/kvm")));
        d.put("kvmUsable", missing == null);
        d.put("apiVersion", missing == null ? 12 : null);
        d.put("maxVcpus", missing == null ? 240 : null);
        d.put("hostMemoryBytes", 8L << 30);
        d.put("fullGuests", false);
        d.put("reason", missing == null ? "fake VMM: KVM usable, full guests not probed" : missing);
        d.put("cpl0InstructionsPerSecond", null);
        d.put("accelerators", List.of(kvm, soft));
        System.out.println(JSON.writeValueAsString(d));
    }

    static void serveControl(Map<String, String> opt) {
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(dir.resolve("control.sock")));
            while (true) {
                try (SocketChannel c = s.accept()) {
                    ByteBuffer b = ByteBuffer.allocate(4096);
                    c.read(b);
                    String req = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
                    String line = req.lines().findFirst().orElse("");
                    String path = line.split(" ").length > 1 ? line.split(" ")[1] : "";
                    int status = 202;
                    String body = "{}";
                    switch (path) {
                        case "/v1/shutdown" -> {
                            serial("KIT power button\n");
                            if (opt.containsKey("acpi")) later(() -> exit(0, "PowerOff", "the guest powered off"));
                        }
                        case "/v1/stop" -> later(() -> exit(0, "Stopped", "stopped on request"));
                        case "/v1/nmi" -> serial("KIT nmi\n");
                        case "/v1/reset" -> serial("KIT reset\n");
                        case "/v1/state" -> {
                            status = 200;
                            body = Files.readString(dir.resolve("state.json"));
                        }
                        default -> {
                            status = 404;
                            body = "{\"error\":\"no such path\"}";
                        }
                    }
                    String resp = "HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: "
                            + body.length() + "\r\nConnection: close\r\n\r\n" + body;
                    c.write(ByteBuffer.wrap(resp.getBytes(StandardCharsets.US_ASCII)));
                }
            }
        } catch (IOException e) {
            // exiting
        }
    }

    static void serveSerial() {
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(dir.resolve("serial.sock")));
            while (true) {
                SocketChannel c = s.accept();
                ByteBuffer b = ByteBuffer.allocate(1024);
                try {
                    while (c.read(b) >= 0) {
                        b.flip();
                        byte[] in = new byte[b.remaining()];
                        b.get(in);
                        b.clear();
                        serial("echo:" + new String(in, StandardCharsets.UTF_8) + "\n");
                    }
                } catch (IOException e) {
                    // client gone
                }
            }
        } catch (IOException e) {
            // exiting
        }
    }

    static void later(Runnable r) {
        new Thread(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException ignored) {
                // no
            }
            r.run();
        }).start();
    }

    static synchronized void serial(String s) {
        try {
            Files.writeString(dir.resolve("serial.log"), s, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void state(String phase, Long boot) throws IOException {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("phase", phase);
        s.put("pid", ProcessHandle.current().pid());
        s.put("startedAt", STARTED.toString());
        s.put("bootMillis", boot);
        s.put("boots", 1);
        s.put("vcpus", 1);
        s.put("memoryBytes", 64L << 20);
        s.put("devices", List.of("lpc-uart-com1"));
        s.put("fullGuests", false);
        s.put("accelerator", accelerator);
        write("state.json", JSON.writeValueAsBytes(s));
    }

    static synchronized void exit(int code, String reason, String message) {
        try {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("code", code);
            e.put("reason", reason);
            e.put("message", message);
            e.put("at", Instant.now().toString());
            write("exit.json", JSON.writeValueAsBytes(e));
        } catch (IOException ex) {
            // nothing to do
        }
        Runtime.getRuntime().halt(code);
    }

    static void write(String name, byte[] b) throws IOException {
        Path tmp = dir.resolve("." + name + ".tmp");
        Files.write(tmp, b);
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
