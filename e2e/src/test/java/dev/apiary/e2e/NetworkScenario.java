package dev.apiary.e2e;

import static dev.apiary.agent.it.MockApiServer.await;

import dev.apiary.agent.net.VmNetwork;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineStatus;
import dev.apiary.crds.VmPhase;
import dev.apiary.kubectlvm.KubectlVm;
import dev.apiary.vmm.net.MacAddress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The agent's side of VM networking, end to end, run by {@link NetworkIT} inside a network namespace of its own
 * (everything it makes — the bridge, TAPs, iptables rules — lives and dies with that namespace): the mock API
 * server, the operator and an agent configured with a masqueraded subnet (10.99.0.0/24 on bridge apiary0), a
 * guest-kit VM with a two-queue network. Checks: the agent made the VM's TAP (multi-queue, owned, in the bridge)
 * and the VMM opened it by name; the host pings the guest and echoes UDP through it; status.interfaces shows the
 * MAC and the guest's address; the guest's own datagrams reach the "outside" namespace masqueraded as the node's
 * address; stopping the VM removes the TAP. Prints {@code NETWORK SCENARIO OK} and exits 0, or fails with the
 * reason and exits 1.
 *
 * <p>Arguments: WORK-DIR OUTSIDE-IP:PORT LISTENER-FILE NODE-IP.
 */
public final class NetworkScenario {
    static final long T = 120_000;
    static final String GUEST_IP = "10.99.0.7";

    public static void main(String[] args) {
        try {
            run(Path.of(args[0]), args[1], Path.of(args[2]), args[3]);
            System.out.println("NETWORK SCENARIO OK");
            System.exit(0);
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.out.println("NETWORK SCENARIO FAILED: " + t);
            System.exit(1);
        }
    }

    static void run(Path work, String outside, Path listenerFile, String nodeIp) throws Exception {
        try (Cluster c = new Cluster(work)) {
            c.api.token("alice-token", "alice").grant("alice", "get", "default", "*")
                    .grant("alice", "update", "default", "*").grant("alice", "list", "default", "*");
            c.startOperator();
            c.startAgent(s -> s.withNetwork(VmNetwork.Settings.of(null, "10.99.0.0/24", "apiary0", null)));
            c.apply("""
                    apiVersion: apiary.dev/v1alpha1
                    kind: VirtualMachine
                    metadata:
                      name: netvm
                      namespace: default
                      annotations: {apiary.dev/stop-grace-period: 1s}
                    spec:
                      runStrategy: RerunOnFailure
                      cpus: 2
                      memory: 128Mi
                      networks:
                        - {name: default, queues: 2}
                      boot:
                        kernel:
                          path: apiary-kit.bzImage
                          cmdline: "console=ttyS0 kit.tests=banner,net kit.net.ip=%s kit.net.pairs=2 kit.net.gw=10.99.0.1 kit.net.hello=%s kit.net.time=600 kit.exit=halt"
                    """.formatted(GUEST_IP, outside));
            VirtualMachine vm = await("netvm Running", () -> c.vm("netvm"),
                    v -> v.getStatus() != null && v.getStatus().phase == VmPhase.Running, T);
            String uid = vm.getMetadata().getUid();
            String tap = VmNetwork.tapName(uid, "default");

            // The agent made the TAP: persistent, multi-queue, with the header, in the bridge; the VMM is attached.
            String link = sh("ip", "-d", "link", "show", "dev", tap);
            check(link.contains("master apiary0"), "TAP in the bridge: " + link);
            check(link.contains("tun type tap") && link.contains("vnet_hdr on") && link.contains("multi_queue"),
                    "a multi-queue TAP with the header: " + link);
            check(sh("iptables", "-t", "nat", "-S", "POSTROUTING").contains("-s 10.99.0.0/24 ! -o apiary0 -j MASQUERADE"),
                    "the subnet is masqueraded");

            // The node reaches the guest: ping, then UDP echo.
            boolean pinged = false;
            for (int i = 0; i < 60 && !pinged; i++) {
                pinged = shCode("ping", "-c", "2", "-W", "2", GUEST_IP) == 0;
            }
            check(pinged, "ping " + GUEST_IP);
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("10.99.0.1", 0))) {
                s.setSoTimeout(2000);
                String reply = null;
                for (int i = 0; i < 10 && reply == null; i++) {
                    byte[] msg = ("echo " + i).getBytes(StandardCharsets.US_ASCII);
                    s.send(new DatagramPacket(msg, msg.length, InetAddress.getByName(GUEST_IP), 7));
                    reply = receive(s);
                }
                check(reply != null && reply.startsWith("echo "), "UDP echo: " + reply);
            }

            // status.interfaces: the derived MAC, the guest's address (from its replies), the TAP.
            MacAddress mac = MacAddress.derived(uid, "default");
            vm = await("status.interfaces with the guest's address", () -> c.vm("netvm"),
                    v -> v.getStatus().interfaces != null && !v.getStatus().interfaces.isEmpty()
                            && GUEST_IP.equals(v.getStatus().interfaces.get(0).ipAddress), T);
            VirtualMachineStatus.Interface nic = vm.getStatus().interfaces.get(0);
            check("default".equals(nic.name) && mac.toString().equals(nic.mac) && tap.equals(nic.hostInterface)
                    && "tap".equals(nic.backend) && nic.queues == 2, "interface status: " + nic.name + " " + nic.mac
                    + " " + nic.hostInterface + " " + nic.backend + " " + nic.queues);
            System.out.println("status.interfaces[0]: " + nic.name + " " + nic.mac + " " + nic.ipAddress + " "
                    + nic.hostInterface);

            // The guest speaks first: its datagrams leave masqueraded as the node's address.
            String heard = await("the guest's datagrams outside", () -> read(listenerFile),
                    l -> l.contains("from " + nodeIp + ":") && l.contains("hello"), T);
            System.out.println("outside heard: " + heard.lines().findFirst().orElse(""));
            check(!heard.contains("from 10.99."), "no unmasqueraded source outside: " + heard);

            // kubectl vm stop: the run ends, and its TAP goes with it.
            kubectl(c, "stop", "netvm");
            await("netvm Stopped", () -> c.vm("netvm"), v -> v.getStatus().phase == VmPhase.Stopped, T);
            await("the TAP removed", () -> shCode("ip", "link", "show", "dev", tap), rc -> rc != 0, T);
            check(c.vm("netvm").getStatus().interfaces == null, "no interfaces once stopped");
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    private static String receive(DatagramSocket s) throws Exception {
        byte[] buf = new byte[1500];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        try {
            s.receive(p);
            return new String(buf, 0, p.getLength(), StandardCharsets.US_ASCII);
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    private static String read(Path f) {
        try {
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (Exception e) {
            return "";
        }
    }

    static String sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    static int shCode(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor();
        } catch (Exception e) {
            return -1;
        }
    }

    static void kubectl(Cluster c, String... args) {
        String[] a = List.of(args).toArray(new String[args.length + 4]);
        a[args.length] = "--token";
        a[args.length + 1] = "alice-token";
        a[args.length + 2] = "-n";
        a[args.length + 3] = "default";
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = KubectlVm.run(a, c.api::newClient, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true));
        check(rc == 0, "kubectl vm " + String.join(" ", args) + ": " + err);
    }
}
