package dev.apiary.vmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vmm run --tap-fd net0=FD}: a parent opens the TAP (TUNSETIFF) and execs the VMM with the descriptor, which
 * the VMM adopts instead of opening a TAP itself — the hand-over for parents that can pass descriptors. The parent
 * here is a few lines of Python; the host pings the guest kit through that TAP and stops it with a datagram, and the
 * guest powers off. Needs root (the test makes the TAP), python3, ip and ping; skipped otherwise. Only the TAP is
 * involved: nothing leaves the machine.
 */
class TapFdTest {
    private static final Path KIT = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath()
            .resolve("guestkit/target/apiary-kit.bzImage");
    private static final String PARENT = """
            import fcntl, os, struct, sys
            fd = os.open("/dev/net/tun", os.O_RDWR)
            # TUNSETIFF: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR on the existing interface
            fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH22x", sys.argv[1].encode(), 0x0002 | 0x1000 | 0x4000))
            os.set_inheritable(fd, True)
            args = [a.replace("FD", str(fd)) for a in sys.argv[2:]]
            os.execv(args[0], args)
            """;

    @Test
    void theVmmAdoptsATapDescriptorFromItsParent(@TempDir Path dir) throws Exception {
        String tap = "aptfd" + (ProcessHandle.current().pid() % 10000);
        Assumptions.assumeTrue(run("python3", "-c", "pass") == 0, "no python3");
        Assumptions.assumeTrue(run("ip", "tuntap", "add", "dev", tap, "mode", "tap") == 0, "cannot make a TAP (root?)");
        try {
            assertEquals(0, run("ip", "addr", "add", "10.0.3.1/24", "dev", tap));
            assertEquals(0, run("ip", "link", "set", tap, "up"));
            Path m = dir.resolve("vm.yaml");
            Files.writeString(m, "kind: VirtualMachine\nmetadata: {name: tapfd}\nspec:\n  memory: 128Mi\n"
                    + "  networks: [{name: net0}]\n"
                    + "  boot: {kernel: {path: " + KIT + ", cmdline: \"kit.tests=net kit.net.ip=10.0.3.15 kit.net.time=120"
                    + " kit.exit=poweroff\"}}\n");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(List.of("python3", "-c", PARENT, tap, java, "-cp",
                    System.getProperty("java.class.path"), Main.class.getName(), "run", "--tap-fd", "net0=FD", m.toString()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile()).start();
            boolean pinged = false;
            for (int i = 0; i < 60 && p.isAlive() && !pinged; i++) {
                pinged = run("ping", "-c", "2", "-W", "2", "-I", tap, "10.0.3.15") == 0;
            }
            String out = Files.readString(dir.resolve("out.txt"));
            assertTrue(pinged, "ping through the adopted TAP:\n" + out);
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("10.0.3.1", 0))) {
                byte[] stop = "stop".getBytes(StandardCharsets.US_ASCII);
                s.send(new DatagramPacket(stop, stop.length, InetAddress.getByName("10.0.3.15"), 7));
            }
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the guest did not power off");
            out = Files.readString(dir.resolve("out.txt"));
            assertEquals(Main.EXIT_OK, p.exitValue(), out);
            assertTrue(out.contains("KIT net ok") && out.contains("stop=yes"), out);
        } finally {
            run("ip", "tuntap", "del", "dev", tap, "mode", "tap");
        }
    }

    private static int run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor();
        } catch (Exception e) {
            return -1;
        }
    }
}
