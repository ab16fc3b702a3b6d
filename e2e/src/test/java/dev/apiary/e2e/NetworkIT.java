package dev.apiary.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VM networking on a node, with the real agent and VMM, inside two network namespaces this test makes and
 * removes: "node", where {@link NetworkScenario} runs the mock API server, the operator and the agent (its bridge,
 * TAPs and iptables rules are the namespace's own), and "outside", reached from the node over a veth pair and
 * default route, where {@link UdpListener} hears what the guest sends. Nothing touches the host's own network,
 * nothing leaves the machine. Needs root (network namespaces, CAP_NET_ADMIN), ip, iptables and ping.
 */
class NetworkIT {
    static final String NODE_IP = "198.51.100.1";
    static final String OUTSIDE_IP = "198.51.100.2";

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path tmp;

    @Test
    void theAgentGivesAVmATapInAMasqueradedSubnetAndReportsItsAddress() throws Exception {
        Path root = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath().normalize();
        String why = Cluster.unusableReason(root);
        if (why == null && NetworkScenario.shCode("iptables", "--version") != 0) why = "no iptables (scripts/install-deps --test)";
        if (why == null && NetworkScenario.shCode("ping", "-V") != 0) why = "no ping (scripts/install-deps --test)";
        String suffix = Long.toString(ProcessHandle.current().pid() % 100000);
        String node = "apnode" + suffix;
        String outside = "apout" + suffix;
        if (why == null && NetworkScenario.shCode("ip", "netns", "add", node) != 0) why = "cannot make a network namespace (needs root)";
        String reason = why;
        assumeTrue(reason == null, () -> "skipped: " + reason);
        Process listener = null;
        try {
            must("ip", "netns", "add", outside);
            must("ip", "-n", node, "link", "set", "lo", "up");
            must("ip", "-n", outside, "link", "set", "lo", "up");
            must("ip", "-n", node, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", outside);
            must("ip", "-n", node, "addr", "add", NODE_IP + "/24", "dev", "veth0");
            must("ip", "-n", outside, "addr", "add", OUTSIDE_IP + "/24", "dev", "veth1");
            must("ip", "-n", node, "link", "set", "veth0", "up");
            must("ip", "-n", outside, "link", "set", "veth1", "up");
            must("ip", "-n", node, "route", "add", "default", "via", OUTSIDE_IP);

            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            String cp = System.getProperty("java.class.path");
            Path heard = tmp.resolve("heard.txt");
            listener = new ProcessBuilder("ip", "netns", "exec", outside, java, "-cp", cp, UdpListener.class.getName(),
                    "9000", heard.toString()).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("listener.log").toFile()).start();
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", node, java, "-cp", cp,
                    "-Dapiary.root=" + root, "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                    NetworkScenario.class.getName(), tmp.resolve("work").toString(), OUTSIDE_IP + ":9000",
                    heard.toString(), NODE_IP));
            Process scenario = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            StringBuilder out = new StringBuilder();
            Thread pump = new Thread(() -> {
                try (var in = scenario.getInputStream()) {
                    byte[] b = new byte[8192];
                    for (int n; (n = in.read(b)) > 0; ) {
                        String s = new String(b, 0, n, StandardCharsets.UTF_8);
                        System.out.print(s);
                        synchronized (out) {
                            out.append(s);
                        }
                    }
                } catch (Exception e) {
                    // the process ended
                }
            });
            pump.start();
            boolean done = scenario.waitFor(400, TimeUnit.SECONDS);
            if (!done) scenario.destroyForcibly().waitFor();
            pump.join(5000);
            String text;
            synchronized (out) {
                text = out.toString();
            }
            assertTrue(done, "the scenario did not finish in 400 s");
            assertEquals(0, scenario.exitValue(), "the scenario failed; its last lines:\n" + tail(text));
            assertTrue(text.contains("NETWORK SCENARIO OK"));
        } finally {
            if (listener != null) listener.destroyForcibly().waitFor();
            NetworkScenario.shCode("ip", "netns", "del", node);
            NetworkScenario.shCode("ip", "netns", "del", outside);
        }
    }

    private static String tail(String s) {
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }

    private static void must(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ": " + out);
    }
}
