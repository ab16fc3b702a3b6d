package dev.apiary.agent.net;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apiary.agent.runtime.RunDir;
import dev.apiary.crds.VirtualMachineSpec;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The node side of VM networking: the agent, which has CAP_NET_ADMIN, makes the TAP of each {@code backend: tap}
 * network of a VM before it starts the VMM, and removes it when the run is over. Each TAP is persistent and owned
 * by the VMM's user ({@code ip tuntap add … user UID}), with the virtio-net header and, for several queue pairs,
 * several queues, so the VMM opens it by name without privileges — the hand-over KubeVirt's virt-handler makes to
 * QEMU in virt-launcher. (Java cannot pass an open descriptor to a child process, and a systemd service cannot
 * inherit one from the agent either: a persistent TAP with an owner works with both launchers.) The VMM is told
 * the name through the spec it is given ({@code spec.networks[].tapName}).
 *
 * <p>Where the TAP goes ({@code apiary.agent.network.*}):
 * <ul>
 *   <li>{@link Mode#BRIDGE}: into an existing bridge of the node (the VM is on that L2 network, e.g. DHCP from
 *       the LAN);</li>
 *   <li>{@link Mode#SUBNET}: into a bridge the agent makes ({@code apiary0}), which holds the first address of a
 *       private subnet and is masqueraded (iptables MASQUERADE for traffic from the subnet leaving by another
 *       interface, IPv4 forwarding on): guests take addresses in the subnet, with that first address as their
 *       gateway;</li>
 *   <li>{@link Mode#NONE}: nowhere; the TAP is up and the node's administrator connects it.</li>
 * </ul>
 * A network that names its own {@code tapName} is left alone: the VMM opens that TAP (made by the administrator).
 * TAP names are {@code ap} + 10 hex digits of SHA-256 over the VM's uid and the network's name (fits IFNAMSIZ),
 * recorded in the runtime directory ({@value #TAPS}) so that they are removed even after an agent restart.
 */
public final class VmNetwork {
    private static final Logger LOG = Logger.getLogger(VmNetwork.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The runtime directory's record of the TAPs the agent made for a run. */
    public static final String TAPS = "taps.json";

    public enum Mode { NONE, BRIDGE, SUBNET }

    /**
     * @param bridge   BRIDGE: the node's bridge; SUBNET: the bridge the agent makes
     * @param subnet   SUBNET: the private IPv4 subnet in CIDR notation, e.g. 10.99.0.0/24
     * @param tapOwner the uid the TAPs belong to (the VMM's); null: the agent's own
     */
    public record Settings(Mode mode, String bridge, String subnet, Integer tapOwner) {
        public static Settings none() {
            return new Settings(Mode.NONE, null, null, null);
        }

        /** From the agent's configuration: a bridge, or a subnet (with the bridge to make), or neither. */
        public static Settings of(String bridge, String subnet, String subnetBridge, Integer tapOwner) {
            if (subnet != null && !subnet.isBlank()) {
                Cidr.parse(subnet);
                return new Settings(Mode.SUBNET, subnetBridge == null || subnetBridge.isBlank() ? "apiary0" : subnetBridge,
                        subnet.strip(), tapOwner);
            }
            if (bridge != null && !bridge.isBlank()) {
                return new Settings(Mode.BRIDGE, bridge.strip(), null, tapOwner);
            }
            return new Settings(Mode.NONE, null, null, tapOwner);
        }
    }

    /** An IPv4 subnet: the network address and the prefix length. */
    record Cidr(int network, int prefix) {
        static Cidr parse(String s) {
            String[] p = s.strip().split("/");
            if (p.length != 2) {
                throw new IllegalArgumentException("apiary.agent.network.subnet: not a CIDR subnet '" + s + "'");
            }
            String[] o = p[0].split("\\.");
            int prefix = Integer.parseInt(p[1]);
            if (o.length != 4 || prefix < 8 || prefix > 30) {
                throw new IllegalArgumentException("apiary.agent.network.subnet: '" + s + "' (an IPv4 /8 to /30)");
            }
            int a = 0;
            for (String x : o) {
                int v = Integer.parseInt(x);
                if (v < 0 || v > 255) {
                    throw new IllegalArgumentException("apiary.agent.network.subnet: not an address '" + p[0] + "'");
                }
                a = (a << 8) | v;
            }
            int mask = -1 << (32 - prefix);
            return new Cidr(a & mask, prefix);
        }

        /** The first host address: the bridge's, the guests' gateway. */
        String gateway() {
            return dotted(network + 1) + "/" + prefix;
        }

        @Override
        public String toString() {
            return dotted(network) + "/" + prefix;
        }

        private static String dotted(int a) {
            return (a >>> 24) + "." + ((a >>> 16) & 255) + "." + ((a >>> 8) & 255) + "." + (a & 255);
        }
    }

    private final Settings settings;
    private final int owner;
    private final String ip;

    public VmNetwork(Settings settings) {
        this.settings = settings;
        this.owner = settings.tapOwner() != null ? settings.tapOwner() : currentUid();
        this.ip = executable("ip");
    }

    public Settings settings() {
        return settings;
    }

    /** The TAP name the agent gives a VM's network. */
    public static String tapName(String uid, String network) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((uid + "/" + network).getBytes(StandardCharsets.UTF_8));
            return "ap" + HexFormat.of().formatHex(h).substring(0, 10);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SUBNET: makes the bridge with the gateway address, forwarding and masquerading, where missing. Idempotent. */
    public void setUpNode() throws IOException {
        if (settings.mode() != Mode.SUBNET) {
            return;
        }
        Cidr cidr = Cidr.parse(settings.subnet());
        String br = settings.bridge();
        if (run(ip, "link", "show", "dev", br).code() != 0) {
            must(ip, "link", "add", "name", br, "type", "bridge");
        }
        if (!must(ip, "-4", "addr", "show", "dev", br).contains(" " + cidr.gateway() + " ")) {
            must(ip, "addr", "add", cidr.gateway(), "dev", br);
        }
        must(ip, "link", "set", "dev", br, "up");
        Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), "1\n");
        String iptables = executable("iptables");
        ensureRule(iptables, "-t", "nat", "POSTROUTING", "-s", cidr.toString(), "!", "-o", br, "-j", "MASQUERADE");
        // Hosts whose FORWARD policy is DROP (Docker's, many firewalls): let the subnet out and its answers in.
        ensureRule(iptables, "-t", "filter", "FORWARD", "-i", br, "-j", "ACCEPT");
        ensureRule(iptables, "-t", "filter", "FORWARD", "-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
                "-j", "ACCEPT");
    }

    private void ensureRule(String iptables, String t, String table, String chain, String... rule) throws IOException {
        List<String> check = new ArrayList<>(List.of(iptables, "-w", t, table, "-C", chain));
        check.addAll(List.of(rule));
        if (run(check.toArray(String[]::new)).code() == 0) {
            return;
        }
        List<String> add = new ArrayList<>(List.of(iptables, "-w", t, table, "-A", chain));
        add.addAll(List.of(rule));
        must(add.toArray(String[]::new));
    }

    /**
     * Makes the TAPs of {@code spec}'s tap networks for a run of VM {@code uid} and returns a copy of the spec that
     * names them; records them in {@code dir}. A TAP left by an earlier run (an agent killed mid-way) is replaced.
     */
    public VirtualMachineSpec provision(String uid, VirtualMachineSpec spec, RunDir dir) throws IOException {
        VirtualMachineSpec copy = JSON.convertValue(spec, VirtualMachineSpec.class);
        List<String> made = new ArrayList<>();
        try {
            for (VirtualMachineSpec.Network n : copy.networks == null ? List.<VirtualMachineSpec.Network>of() : copy.networks) {
                if (n == null || n.name == null || "passt".equals(n.backend) || n.tapName != null) {
                    continue;
                }
                if (made.isEmpty()) {
                    setUpNode();
                }
                String tap = tapName(uid, n.name);
                run(ip, "link", "del", "dev", tap); // a leftover of an earlier run, if any
                List<String> add = new ArrayList<>(List.of(ip, "tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr",
                        "user", Integer.toString(owner)));
                if (n.queues != null && n.queues > 1) {
                    add.add("multi_queue");
                }
                must(add.toArray(String[]::new));
                made.add(tap);
                dir.write(TAPS, made);
                if (settings.mode() != Mode.NONE) {
                    must(ip, "link", "set", "dev", tap, "master", settings.bridge());
                }
                must(ip, "link", "set", "dev", tap, "up");
                n.tapName = tap;
                LOG.infof("TAP %s for network %s of %s (%s)", tap, n.name, uid,
                        settings.mode() == Mode.NONE ? "not attached" : "bridge " + settings.bridge());
            }
        } catch (IOException | RuntimeException e) {
            release(dir);
            throw e;
        }
        return copy;
    }

    /** Removes the TAPs the agent made for the run in {@code dir} (a run that ended, a directory going away). */
    public void release(RunDir dir) {
        List<String> taps;
        try {
            taps = JSON.readValue(Files.readAllBytes(dir.file(TAPS)), new TypeReference<List<String>>() {});
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            taps = List.of();
        }
        for (String t : taps) {
            if (t.matches("ap[0-9a-f]{10}")) { // only names this class makes
                Result r = run(ip, "link", "del", "dev", t);
                if (r.code() == 0) {
                    LOG.infof("removed TAP %s", t);
                }
            }
        }
        try {
            Files.deleteIfExists(dir.file(TAPS));
        } catch (IOException e) {
            LOG.warnf("cannot remove %s: %s", dir.file(TAPS), e.getMessage());
        }
    }

    /** Whether {@code dir} still records TAPs (its run has not been released). */
    public static boolean holdsTaps(RunDir dir) {
        return Files.exists(dir.file(TAPS));
    }

    record Result(int code, String output) {}

    private static Result run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }

    private static String must(String... cmd) throws IOException {
        Result r = run(cmd);
        if (r.code() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + r.output().strip()
                    + (r.output().contains("Operation not permitted") ? " (the agent needs CAP_NET_ADMIN)" : ""));
        }
        return r.output();
    }

    private static String executable(String name) {
        String path = System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/sbin:/sbin:/usr/bin:/bin";
        for (String d : path.split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
                return Path.of(d, name).toString();
            }
        }
        return name; // let the start fail with the command's name in the message
    }

    private static int currentUid() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("Uid:")) {
                    return Integer.parseInt(l.substring(4).trim().split("\\s+")[1]); // effective uid
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return 0;
    }
}
