package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.net.MacAddress;
import dev.apiary.vmm.net.Passt;
import dev.apiary.vmm.net.PortForward;
import dev.apiary.vmm.net.VirtioNet;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;

/**
 * The guest kit's responder behind passt, without privileges or TAP: the VMM starts passt, which forwards a UDP
 * port of this host to the guest's echo port 7; the test round-trips datagrams through 127.0.0.1 and stops the
 * guest with a "stop" datagram. passt gives the guest this host's address (from the interface of the default
 * route), so the kit takes that address. Skipped where passt is missing or the host has no IPv4 default route
 * (passt then has no address to give). Nothing leaves the machine: the datagrams go to loopback.
 */
class PasstBootTest {
    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:57");

    @OnEveryAccelerator
    void udpToAForwardedPortIsEchoedByTheGuest(Accelerator accel) throws Exception {
        Assumptions.assumeTrue(Passt.executable() != null, "no passt (scripts/install-deps --test)");
        String guestIp = defaultRouteAddress();
        Assumptions.assumeTrue(guestIp != null, "no IPv4 default route: passt has no address for the guest");
        int port;
        try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            port = probe.getLocalPort();
        }
        ExecutorService pool = Executors.newSingleThreadExecutor();
        AtomicReference<VirtioNet> nic = new AtomicReference<>();
        try {
            MachineConfig cfg = GuestKit.config(accel, 1, 128L << 20,
                    "kit.tests=net kit.net.ip=" + guestIp + " kit.net.time=120", RebootPolicy.Stop)
                    .withNetworks(List.of(MachineConfig.Network.passt("net0", MAC,
                            List.of(new PortForward(PortForward.Protocol.UDP, port, 7)))));
            Future<GuestKit.Run> run = pool.submit(() -> GuestKit.boot(cfg, 240, m -> nic.set(nic(m))));
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                s.setSoTimeout(1000);
                InetSocketAddress to = new InetSocketAddress("127.0.0.1", port);
                String reply = null;
                // The guest answers once its driver is up; until then passt has nobody to hand the datagram to.
                for (int i = 0; i < 180 && reply == null && !run.isDone(); i++) {
                    byte[] msg = ("hello passt " + i).getBytes(StandardCharsets.US_ASCII);
                    s.send(new DatagramPacket(msg, msg.length, to));
                    reply = receive(s);
                }
                assertNotNull(reply, "no UDP echo through passt");
                assertTrue(reply.startsWith("hello passt "), reply);
                for (int i = 0; i < 5; i++) {
                    byte[] msg = ("again " + i).getBytes(StandardCharsets.US_ASCII);
                    s.send(new DatagramPacket(msg, msg.length, to));
                    String r = receive(s);
                    while (r != null && r.startsWith("hello passt ")) {
                        r = receive(s); // late echoes of the first tries
                    }
                    assertEquals("again " + i, r);
                }
                byte[] stop = "stop".getBytes(StandardCharsets.US_ASCII);
                s.send(new DatagramPacket(stop, stop.length, to));
            }
            GuestKit.Run r = run.get(240, TimeUnit.SECONDS);
            String ok = r.ok("net");
            assertEquals(MAC.toString(), GuestKit.Run.field(ok, "mac"));
            assertEquals("yes", GuestKit.Run.field(ok, "stop"));
            assertTrue(Long.parseLong(GuestKit.Run.field(ok, "udp")) >= 7, ok);
            assertEquals("0", GuestKit.Run.field(ok, "bad"), ok);
            // The device saw the guest's replies come from its address.
            assertEquals(List.of(guestIp), nic.get().guestAddresses());
            assertEquals(0, nic.get().stats().txDropped());
        } finally {
            pool.shutdownNow();
        }
    }

    static VirtioNet nic(Machine m) {
        return m.inventory().stream().filter(d -> d instanceof VirtioNet).map(d -> (VirtioNet) d)
                .findFirst().orElseThrow();
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

    /** The first IPv4 address of the interface that carries the default route: what passt gives the guest. */
    static String defaultRouteAddress() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/net/route")).stream().skip(1).toList()) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 2 && f[1].equals("00000000")) {
                NetworkInterface nif = NetworkInterface.getByName(f[0]);
                if (nif == null) {
                    continue;
                }
                for (InetAddress a : nif.inetAddresses().toList()) {
                    if (a instanceof Inet4Address) {
                        return a.getHostAddress();
                    }
                }
            }
        }
        return null;
    }
}
