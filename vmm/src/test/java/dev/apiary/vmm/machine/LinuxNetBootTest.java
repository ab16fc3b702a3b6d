package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.net.MacAddress;
import dev.apiary.vmm.net.Passt;
import dev.apiary.vmm.net.PortForward;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's kernel and its own {@code virtio_pci}/{@code virtio_net} modules (scripts/fetch-debian-guest) with a
 * busybox initramfs: eth0 comes up with a static address, the guest pings the host and the host the guest, and a
 * TCP transfer (busybox nc) goes each way, checked by MD5 — over a TAP, and over passt (TCP through passt's
 * forwarded port one way and its gateway mapping the other). On the software CPU a boot takes about a minute,
 * so this runs on demand: {@code -Dapiary.linux=true} (or APIARY_LINUX_TESTS=1); skipped otherwise, and where
 * the host lacks what it needs (root for the TAP, passt for the second case).
 */
class LinuxNetBootTest {
    static final MacAddress MAC = MacAddress.parse("52:54:00:65:43:21");
    static final int KIB = 256;

    static final String INIT = """
            #!/bin/busybox sh
            B=/bin/busybox
            $B mkdir -p /proc /sys /tmp
            $B mount -t proc proc /proc
            $B mount -t sysfs sys /sys
            $B mount -t devtmpfs dev /dev
            for m in $($B cat /lib/order); do $B insmod /lib/$m.ko; done
            for a in $($B cat /proc/cmdline); do
              case $a in apiary.*=*) k=${a%%=*}; k=${k#apiary.}; eval "$k=${a#*=}";; esac
            done
            $B ip link set lo up
            $B ip link set eth0 up
            $B ip addr add $ip dev eth0
            [ -n "$gw" ] && $B ip route add default via $gw
            echo "APIARY-NET-UP mac=$($B cat /sys/class/net/eth0/address) driver=$($B basename $($B readlink /sys/class/net/eth0/device/driver))"
            if [ -n "$pingpeer" ]; then
              if $B ping -c 3 -W 5 $pingpeer >/dev/null 2>&1; then echo APIARY-PING-OK; else echo APIARY-PING-FAIL; fi
            fi
            $B dd if=/dev/urandom of=/tmp/out bs=1024 count=$kib 2>/dev/null
            echo "APIARY-OUT md5=$($B md5sum /tmp/out | $B cut -d' ' -f1)"
            $B nc $peer $outport < /tmp/out
            # In the background its stdin would be at EOF, and nc would close its sending side at once: passt
            # (2023-03) then stops forwarding to it. A pipe that stays open keeps the connection whole.
            $B sleep 100000 | $B nc -l -p $inport > /tmp/in &
            ncpid=$!
            # Listening for sure (passt accepts on the host side before it connects to the guest).
            hex=$($B printf '%04X' $inport)
            while ! $B cat /proc/net/tcp /proc/net/tcp6 | $B grep -qE ":$hex [0-9A-F]+:0000 0A"; do $B sleep 0.2; done
            echo APIARY-LISTEN
            wait $ncpid
            echo "APIARY-IN bytes=$($B wc -c < /tmp/in) md5=$($B md5sum /tmp/in | $B cut -d' ' -f1)"
            $B poweroff -f
            """;

    @Test
    void overTapPingAndTcpBothWays(@TempDir Path dir) throws Exception {
        assumeOnDemand();
        String tap = "aplnx" + (ProcessHandle.current().pid() % 10000);
        Assumptions.assumeTrue(NetBootTest.sh("ip", "tuntap", "add", "dev", tap, "mode", "tap") == 0, "cannot make a TAP");
        try (ServerSocket server = new ServerSocket()) {
            NetBootTest.sh("ip", "addr", "add", "10.0.4.1/24", "dev", tap);
            NetBootTest.sh("ip", "link", "set", tap, "up");
            server.bind(new InetSocketAddress("10.0.4.1", 0));
            String cmdline = "apiary.ip=10.0.4.15/24 apiary.pingpeer=10.0.4.1 apiary.peer=10.0.4.1 apiary.outport="
                    + server.getLocalPort() + " apiary.inport=5000 apiary.kib=" + KIB;
            MachineConfig cfg = config(dir, cmdline).withNetworks(List.of(new MachineConfig.Network("net0", MAC, tap, -1)));
            Transfer t = boot(cfg, server, serial -> {
                // The host pings the guest once its interface is up.
                if (NetBootTest.sh("ping", "-c", "3", "-W", "5", "-I", tap, "10.0.4.15") != 0) {
                    throw new AssertionError("the host could not ping the guest");
                }
            }, new InetSocketAddress("10.0.4.15", 5000));
            assertTrue(t.serial.contains("APIARY-PING-OK"), "the guest pinged the host");
            t.check();
        } finally {
            NetBootTest.sh("ip", "tuntap", "del", "dev", tap, "mode", "tap");
        }
    }

    @Test
    void overPasstTcpBothWays(@TempDir Path dir) throws Exception {
        assumeOnDemand();
        Assumptions.assumeTrue(Passt.executable() != null, "no passt");
        String guestIp = PasstBootTest.defaultRouteAddress();
        Assumptions.assumeTrue(guestIp != null, "no IPv4 default route for passt");
        String gateway = defaultGateway();
        int forwarded;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            forwarded = probe.getLocalPort();
        }
        try (ServerSocket server = new ServerSocket()) {
            // passt maps connections to the gateway's address to this host's loopback.
            server.bind(new InetSocketAddress("127.0.0.1", 0));
            String cmdline = "apiary.ip=" + guestIp + "/" + prefixLength(guestIp) + " apiary.gw=" + gateway
                    + " apiary.peer=" + gateway + " apiary.outport=" + server.getLocalPort() + " apiary.inport=5000"
                    + " apiary.kib=" + KIB;
            MachineConfig cfg = config(dir, cmdline).withNetworks(List.of(MachineConfig.Network.passt("net0", MAC,
                    List.of(new PortForward(PortForward.Protocol.TCP, forwarded, 5000)))));
            Transfer t = boot(cfg, server, serial -> { }, new InetSocketAddress("127.0.0.1", forwarded));
            t.check();
        }
    }

    private static void assumeOnDemand() {
        boolean on = Boolean.getBoolean("apiary.linux") || "1".equals(System.getenv("APIARY_LINUX_TESTS"));
        if (!on) {
            System.out.println("SKIP LinuxNetBootTest: on demand (-Dapiary.linux=true), about a minute per boot");
        }
        Assumptions.assumeTrue(on, "on demand: -Dapiary.linux=true");
    }

    /** The Debian kernel, one vCPU, 256 MiB, on the software CPU, with the initramfs above. */
    private static MachineConfig config(Path dir, String extra) throws Exception {
        Process fetch = new ProcessBuilder(GuestKit.ROOT.resolve("scripts/fetch-debian-guest").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> paths = new String(fetch.getInputStream().readAllBytes()).lines().toList();
        assertTrue(fetch.waitFor(600, TimeUnit.SECONDS) && fetch.exitValue() == 0, "fetch-debian-guest failed");
        Path kernel = Path.of(paths.get(0));
        Path busybox = Path.of(paths.get(1));
        Path modules = Path.of(paths.get(2));
        Assumptions.assumeTrue(Files.exists(modules.resolve("virtio_net.ko")), "no virtio_net module in the cache");
        Path initrd = dir.resolve("initrd.cpio");
        try (var out = Files.newOutputStream(initrd)) {
            Cpio c = new Cpio(out);
            c.dir("bin");
            c.dir("dev");
            c.dir("lib");
            c.file("lib/order", Files.readAllBytes(modules.resolve("order")), 0644);
            for (String m : Files.readAllLines(modules.resolve("order"))) {
                c.file("lib/" + m + ".ko", Files.readAllBytes(modules.resolve(m + ".ko")), 0644);
            }
            c.charDevice("dev/console", 5, 1);
            c.file("bin/busybox", Files.readAllBytes(busybox), 0755);
            c.file("init", INIT.getBytes(StandardCharsets.US_ASCII), 0755);
            c.trailer();
        }
        return new MachineConfig("debian-net", 1, 256L << 20, kernel, initrd,
                "console=ttyS0 panic=-1 rdinit=/init loglevel=4 " + extra, RebootPolicy.Stop)
                .withAccelerator(Accelerator.Emulated);
    }

    interface OnNetUp {
        void run(String serial) throws Exception;
    }

    /** What the guest and the host saw of one run. */
    record Transfer(String serial, GuestStop stop, String outMd5, String receivedMd5, String sentMd5, long bootToNetMs,
            long transferMs) {
        void check() {
            System.out.printf("Linux guest: eth0 up %d ms after start, TCP both ways (%d KiB each) in %d ms%n",
                    bootToNetMs, KIB, transferMs);
            assertInstanceOf(GuestStop.PowerOff.class, stop, stop.describe() + "\n" + serial);
            assertTrue(serial.contains("driver=virtio_net"), serial);
            assertTrue(serial.contains("mac=" + MAC), serial);
            assertEquals(outMd5, receivedMd5, "guest → host: what the guest sent is what the host received");
            assertTrue(serial.contains("APIARY-IN bytes=" + KIB * 1024 + " md5=" + sentMd5),
                    "host → guest: what the host sent is what the guest received\n" + serial);
        }
    }

    /**
     * Boots; once eth0 is up runs {@code onNetUp}; receives the guest's file on {@code server}; once the guest
     * listens sends it {@code KIB} KiB at {@code guestListener}; waits for the power-off (bounded).
     */
    private static Transfer boot(MachineConfig cfg, ServerSocket server, OnNetUp onNetUp, InetSocketAddress guestListener)
            throws Exception {
        StringBuilder serial = new StringBuilder();
        CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
            try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                byte[] all = in.readNBytes(KIB * 1024);
                return md5(all);
            } catch (Exception e) {
                return "error: " + e;
            }
        });
        long start = System.nanoTime();
        try (Machine m = Machine.create(cfg)) {
            m.serialConsole().addListener((b, off, len) -> {
                synchronized (serial) {
                    serial.append(new String(b, off, len, StandardCharsets.ISO_8859_1));
                    serial.notifyAll();
                }
            });
            CompletableFuture<GuestStop> run = CompletableFuture.supplyAsync(m::run);
            try {
                String up = await(serial, s -> s.contains("APIARY-NET-UP"), 300);
                long netUp = System.nanoTime();
                onNetUp.run(up);
                await(serial, s -> s.contains("APIARY-LISTEN"), 300);
                byte[] data = new byte[KIB * 1024];
                new Random(42).nextBytes(data);
                sendWhenListening(guestListener, data);
                GuestStop stop;
                try {
                    stop = run.get(300, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    synchronized (serial) {
                        throw new AssertionError("the guest did not power off; it said:\n" + serial);
                    }
                }
                long done = System.nanoTime();
                String text;
                synchronized (serial) {
                    text = serial.toString();
                }
                System.out.println(text);
                String out = field(text, "APIARY-OUT md5=");
                return new Transfer(text, stop, out, received.get(10, TimeUnit.SECONDS), md5(data),
                        (netUp - start) / 1_000_000, (done - netUp) / 1_000_000);
            } finally {
                m.stop("test over");
            }
        }
    }

    private static void sendWhenListening(InetSocketAddress to, byte[] data) throws Exception {
        IOException last = null;
        for (int i = 0; i < 60; i++) {
            try (Socket s = new Socket()) {
                s.connect(to, 5000);
                try (OutputStream o = s.getOutputStream()) {
                    o.write(data);
                }
                return;
            } catch (IOException e) {
                last = e; // nc is not listening yet
                Thread.sleep(500);
            }
        }
        throw new AssertionError("could not send to the guest at " + to, last);
    }

    private static String await(StringBuilder serial, Predicate<String> p, int seconds) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        synchronized (serial) {
            while (!p.test(serial.toString())) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("timed out; the guest said:\n" + serial);
                }
                serial.wait(Math.max(1, left / 1_000_000));
            }
            return serial.toString();
        }
    }

    private static String field(String text, String key) {
        int i = text.indexOf(key);
        assertTrue(i >= 0, "no " + key + " in:\n" + text);
        return text.substring(i + key.length()).split("\\s+")[0];
    }

    private static String md5(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
    }

    /** The default route's gateway (passt gives the guest the same). */
    private static String defaultGateway() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/net/route")).stream().skip(1).toList()) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 2 && f[1].equals("00000000")) {
                long g = Long.parseLong(f[2], 16);
                return (g & 255) + "." + ((g >> 8) & 255) + "." + ((g >> 16) & 255) + "." + ((g >> 24) & 255);
            }
        }
        throw new AssertionError("no default route");
    }

    /** The prefix length of the host's address {@code ip} (passt gives the guest the same netmask). */
    private static int prefixLength(String ip) throws IOException {
        for (var nif : java.net.NetworkInterface.networkInterfaces().toList()) {
            for (var a : nif.getInterfaceAddresses()) {
                if (a.getAddress().getHostAddress().equals(ip)) {
                    return a.getNetworkPrefixLength();
                }
            }
        }
        return 24;
    }
}
