package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.net.MacAddress;
import dev.apiary.vmm.net.NetStats;
import dev.apiary.vmm.net.VirtioNet;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;

/**
 * The guest kit's virtio-net driver and responder behind a TAP: the host pings the guest and round-trips
 * UDP through it, then stops it with a "stop" datagram; the kit's counters are the guest's side of the
 * story. With one queue pair and with four (a multi-queue TAP, the kit answering on the pair a frame came
 * in on), and after the kit's hostile-driver cases. Needs /dev/net/tun and CAP_NET_ADMIN (the test creates a
 * TAP and gives it 10.0.2.1/24); skipped with the reason printed elsewhere. Nothing leaves the machine: only
 * the TAP is involved.
 */
class NetBootTest {
    static final String HOST_IP = "10.0.2.1";
    static final String GUEST_IP = "10.0.2.15";
    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");

    @OnEveryAccelerator
    void theHostPingsTheGuestAndRoundTripsUdpOverTap(Accelerator accel) throws Exception {
        Result r = run(accel, 1, 1, "net", 1);
        String ok = r.kit.ok("net");
        assertEquals(MAC.toString(), GuestKit.Run.field(ok, "mac"));
        assertTrue(Long.parseLong(GuestKit.Run.field(ok, "arp")) >= 1, ok);
        assertTrue(Long.parseLong(GuestKit.Run.field(ok, "irqs")) > 0, "MSI-X interrupts: " + ok);
        assertEquals(List.of(GUEST_IP), r.addresses, "the guest's address, learned from its replies");
    }

    /**
     * Four queue pairs on a multi-queue TAP: the kernel spreads flows over the TAP's queues by hash (and keeps a
     * flow where the guest last answered it), so 32 UDP flows land on more than one pair — unless all 32 hash
     * to the same queue of four, a chance of 4 × 4⁻³², which this test takes.
     */
    @OnEveryAccelerator
    void fourQueuePairsCarryFlowsOnSeveralPairs(Accelerator accel) throws Exception {
        Result r = run(accel, 4, 4, "net", 32);
        String ok = r.kit.ok("net");
        assertEquals("4", GuestKit.Run.field(ok, "pairs"));
        String[] perPair = GuestKit.Run.field(ok, "rxq").split("/");
        long used = java.util.Arrays.stream(perPair).filter(c -> Long.parseLong(c) > 0).count();
        assertTrue(used >= 2, "frames on " + used + " of 4 pairs: " + ok);
    }

    /** The kit's hostile driver first (broken rings, bad buffers), then the ordinary run on the same device. */
    @OnEveryAccelerator
    void afterTheHostileDriverCasesTheDeviceStillWorks(Accelerator accel) throws Exception {
        Result r = run(accel, 1, 1, "nethostile,net", 1);
        String hostile = r.kit.ok("nethostile");
        int cases = Integer.parseInt(GuestKit.Run.field(hostile, "cases"));
        long needsReset = Long.parseLong(GuestKit.Run.field(hostile, "needs-reset"));
        long returned = Long.parseLong(GuestKit.Run.field(hostile, "returned"));
        assertEquals(cases, needsReset + returned, hostile);
        r.kit.ok("net");
        // The device's own counts agree with what the guest saw.
        assertEquals(needsReset, r.stats.needsReset(), r.stats.toString());
        assertEquals(3, r.stats.txDropped(), r.stats.toString());
        assertEquals(3, r.stats.rxBadBuffers(), r.stats.toString());
    }

    record Result(GuestKit.Run kit, NetStats stats, List<String> addresses) {}

    /** Boots the kit with {@code tests} behind a fresh TAP, pings, round-trips UDP over {@code flows} flows, stops it. */
    private static Result run(Accelerator accel, int cpus, int pairs, String tests, int flows) throws Exception {
        String tap = "aptest" + (ProcessHandle.current().pid() % 10000);
        assumeTapUsable(tap, pairs > 1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        AtomicReference<VirtioNet> nic = new AtomicReference<>();
        try {
            sh("ip", "addr", "add", HOST_IP + "/24", "dev", tap);
            sh("ip", "link", "set", tap, "up");
            MachineConfig cfg = GuestKit.config(accel, cpus, 128L << 20, "kit.tests=" + tests + " kit.net.ip=" + GUEST_IP
                            + " kit.net.pairs=" + pairs + " kit.net.time=120", RebootPolicy.Stop)
                    .withNetworks(List.of(new MachineConfig.Network("net0", MAC, tap, -1).withQueues(pairs)));
            Future<GuestKit.Run> run = pool.submit(() -> GuestKit.boot(cfg, 240, m -> nic.set(PasstBootTest.nic(m))));

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

            InetAddress guest = InetAddress.getByName(GUEST_IP);
            List<DatagramSocket> sockets = new ArrayList<>();
            try {
                for (int f = 0; f < flows; f++) {
                    DatagramSocket s = new DatagramSocket(new InetSocketAddress(HOST_IP, 0));
                    s.setSoTimeout(2000);
                    sockets.add(s);
                }
                for (int f = 0; f < flows; f++) {
                    DatagramSocket s = sockets.get(f);
                    String reply = null;
                    for (int i = 0; i < 5 && reply == null; i++) {
                        byte[] msg = ("hello apiary " + f + "." + i).getBytes(StandardCharsets.US_ASCII);
                        s.send(new DatagramPacket(msg, msg.length, guest, 7));
                        reply = receive(s);
                    }
                    assertNotNull(reply, "no UDP echo on flow " + f);
                    assertTrue(reply.startsWith("hello apiary " + f + "."), reply);
                }
                DatagramSocket s = sockets.get(0);
                byte[] stop = "stop".getBytes(StandardCharsets.US_ASCII);
                s.send(new DatagramPacket(stop, stop.length, guest, 7));
                String reply = receive(s);
                while (reply != null && reply.startsWith("hello")) {
                    reply = receive(s);
                }
                assertEquals("stop", reply);
            } finally {
                sockets.forEach(DatagramSocket::close);
            }

            GuestKit.Run r = run.get(240, TimeUnit.SECONDS);
            String ok = r.ok("net");
            assertEquals("yes", GuestKit.Run.field(ok, "stop"));
            assertTrue(Long.parseLong(GuestKit.Run.field(ok, "icmp")) >= 3, ok);
            assertTrue(Long.parseLong(GuestKit.Run.field(ok, "udp")) >= flows + 1, ok);
            assertEquals("0", GuestKit.Run.field(ok, "bad"), ok);
            return new Result(r, nic.get().stats(), nic.get().guestAddresses());
        } finally {
            pool.shutdownNow();
            if (pairs > 1) {
                sh("ip", "tuntap", "del", "dev", tap, "mode", "tap", "multi_queue");
            } else {
                sh("ip", "tuntap", "del", "dev", tap, "mode", "tap");
            }
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
    private static void assumeTapUsable(String tap, boolean multiQueue) throws Exception {
        String why = null;
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            why = "no /dev/net/tun";
        } else if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))) {
            why = "no ip(8) (iproute2)";
        } else if (!Files.isExecutable(Path.of("/usr/bin/ping")) && !Files.isExecutable(Path.of("/bin/ping"))) {
            why = "no ping(8) (iputils-ping; scripts/install-deps --test)";
        } else if (sh(multiQueue ? new String[] {"ip", "tuntap", "add", "dev", tap, "mode", "tap", "multi_queue"}
                : new String[] {"ip", "tuntap", "add", "dev", tap, "mode", "tap"}) != 0) {
            why = "cannot create a TAP (needs CAP_NET_ADMIN)";
        }
        if (why != null) {
            System.out.println("SKIP: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
    }

    static int sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        System.out.println("$ " + String.join(" ", cmd) + " → " + rc + (out.isBlank() ? "" : "\n" + out.strip()));
        return rc;
    }
}
