package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.net.MacAddress;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The guest kit's virtio-net driver and responder behind a TAP: the host pings the guest and round-trips
 * UDP through it, then stops it with a "stop" datagram; the kit's counters are the guest's side of the
 * story. Needs /dev/net/tun and CAP_NET_ADMIN (the test creates a TAP and gives it 10.0.2.1/24); skipped with
 * the reason printed elsewhere. Nothing leaves the machine: only the TAP is involved.
 */
class NetBootTest {
    static final String HOST_IP = "10.0.2.1";
    static final String GUEST_IP = "10.0.2.15";
    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");

    @OnEveryAccelerator
    void theHostPingsTheGuestAndRoundTripsUdpOverTap(Accelerator accel) throws Exception {
        String tap = "aptest" + (ProcessHandle.current().pid() % 10000);
        assumeTapUsable(tap);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            sh("ip", "addr", "add", HOST_IP + "/24", "dev", tap);
            sh("ip", "link", "set", tap, "up");
            MachineConfig cfg = GuestKit.config(accel, 1, 128L << 20,
                    "kit.tests=net kit.net.ip=" + GUEST_IP + " kit.net.time=120", RebootPolicy.Stop)
                    .withNetworks(List.of(new MachineConfig.Network("net0", MAC, tap, -1)));
            Future<GuestKit.Run> run = pool.submit(() -> GuestKit.boot(cfg, 240));

            // The guest answers once its driver is up; ping until then (bounded by the boot's own timeout).
            boolean pinged = false;
            for (int i = 0; i < 60 && !run.isDone() && !pinged; i++) {
                pinged = sh("ping", "-c", "3", "-W", "2", "-I", tap, GUEST_IP) == 0;
            }
            assertTrue(pinged, "ping " + GUEST_IP + " never answered");
            // Now that the guest is up, every echo request must be answered.
            Process ping = new ProcessBuilder("ping", "-c", "3", "-W", "2", "-I", tap, GUEST_IP).redirectErrorStream(true).start();
            String out = new String(ping.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            ping.waitFor();
            System.out.println(out);
            assertTrue(out.contains("3 packets transmitted, 3 received"), out);

            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(HOST_IP, 0))) {
                s.setSoTimeout(2000);
                InetAddress guest = InetAddress.getByName(GUEST_IP);
                String reply = null;
                for (int i = 0; i < 5 && reply == null; i++) {
                    byte[] msg = ("hello apiary " + i).getBytes(StandardCharsets.US_ASCII);
                    s.send(new DatagramPacket(msg, msg.length, guest, 7));
                    reply = receive(s);
                }
                assertNotNull(reply, "no UDP echo");
                assertTrue(reply.startsWith("hello apiary "), reply);
                byte[] stop = "stop".getBytes(StandardCharsets.US_ASCII);
                s.send(new DatagramPacket(stop, stop.length, guest, 7));
                assertEquals("stop", receive(s));
            }

            GuestKit.Run r = run.get(240, TimeUnit.SECONDS);
            String ok = r.ok("net");
            assertEquals(MAC.toString(), GuestKit.Run.field(ok, "mac"));
            assertEquals("yes", GuestKit.Run.field(ok, "stop"));
            assertTrue(Long.parseLong(GuestKit.Run.field(ok, "icmp")) >= 3, ok);
            assertTrue(Long.parseLong(GuestKit.Run.field(ok, "udp")) >= 2, ok);
            assertTrue(Long.parseLong(GuestKit.Run.field(ok, "arp")) >= 1, ok);
            assertEquals("0", GuestKit.Run.field(ok, "bad"), ok);
            assertTrue(Long.parseLong(GuestKit.Run.field(ok, "irqs")) > 0, "MSI-X interrupts: " + ok);
        } finally {
            pool.shutdownNow();
            sh("ip", "tuntap", "del", "dev", tap, "mode", "tap");
        }
    }

    private static String receive(DatagramSocket s) throws IOException {
        byte[] buf = new byte[1500];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        try {
            s.receive(p);
            return new String(buf, 0, p.getLength(), StandardCharsets.US_ASCII);
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    /** Creates the persistent TAP, or skips with the reason (no /dev/net/tun, no CAP_NET_ADMIN, no ip/ping). */
    private static void assumeTapUsable(String tap) throws Exception {
        String why = null;
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            why = "no /dev/net/tun";
        } else if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))) {
            why = "no ip(8) (iproute2)";
        } else if (!Files.isExecutable(Path.of("/usr/bin/ping")) && !Files.isExecutable(Path.of("/bin/ping"))) {
            why = "no ping(8) (iputils-ping; scripts/install-deps --test)";
        } else if (sh("ip", "tuntap", "add", "dev", tap, "mode", "tap") != 0) {
            why = "cannot create a TAP (needs CAP_NET_ADMIN)";
        }
        if (why != null) {
            System.out.println("SKIP: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
    }

    private static int sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        System.out.println("$ " + String.join(" ", cmd) + " → " + rc + (out.isBlank() ? "" : "\n" + out.strip()));
        return rc;
    }
}
