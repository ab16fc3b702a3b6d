package dev.apiary.agent;

import dev.apiary.agent.net.VmNetwork;
import dev.apiary.agent.runtime.VmmLauncher;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What an agent needs to know about its node and itself (application.properties prefix {@code apiary.agent}).
 *
 * @param nodeName          the Kubernetes node, and the name of its VmmNode
 * @param imageRoot         relative image paths in VM specs are resolved below this directory
 * @param runtimeRoot       one directory per VM below this ({@code <uid>/}); survives agent restarts
 * @param vmmCommand        the VMM launcher, e.g. {@code [/opt/apiary/bin/vmm]}; {@code launch …} is appended
 * @param listenHost        address of the agent API
 * @param listenPort        port of the agent API (0: any free port, for tests)
 * @param endpoint          the base URL published on the VmmNode and VMs (null: https://nodeName:port)
 * @param tls               TLS on the agent API (the default); off only for local experiments
 * @param tlsCert           PEM certificate (chain); null with tlsKey null: a self-signed one is made and kept
 * @param tlsKey            PEM private key
 * @param heartbeat         how often the VmmNode heartbeat is written
 * @param resync            how often every VM and process is looked at even without events
 * @param stopGrace         time between the ACPI power button and a hard stop, unless the VM sets its own
 * @param reviewCacheTtl    how long a TokenReview / SubjectAccessReview answer is reused
 * @param nodeLabels        labels put on the VmmNode (merged with the Kubernetes Node's, when readable)
 * @param capacityCpus      CPUs offered to VMs (null: all of the host's)
 * @param reservedMemory    host memory kept back from VMs, in bytes
 * @param syncTimeout       a VM informer not synced after this long is reported (readiness DOWN with the reason, an
 *                          Event on the VmmNode); it keeps retrying
 * @param launcher          how VMM processes are started (setsid, the default, or a host systemd service)
 * @param network           where the TAPs of VMs' tap networks go (a bridge, a masqueraded subnet, or nowhere)
 */
public record AgentSettings(String nodeName, Path imageRoot, Path runtimeRoot, List<String> vmmCommand,
        String listenHost, int listenPort, String endpoint, boolean tls, Path tlsCert, Path tlsKey,
        Duration heartbeat, Duration resync, Duration stopGrace, Duration reviewCacheTtl,
        Map<String, String> nodeLabels, Integer capacityCpus, long reservedMemory, Duration syncTimeout,
        VmmLauncher launcher, VmNetwork.Settings network) {

    public AgentSettings(String nodeName, Path imageRoot, Path runtimeRoot, List<String> vmmCommand,
            String listenHost, int listenPort, String endpoint, boolean tls, Path tlsCert, Path tlsKey,
            Duration heartbeat, Duration resync, Duration stopGrace, Duration reviewCacheTtl,
            Map<String, String> nodeLabels, Integer capacityCpus, long reservedMemory, Duration syncTimeout,
            VmmLauncher launcher) {
        this(nodeName, imageRoot, runtimeRoot, vmmCommand, listenHost, listenPort, endpoint, tls, tlsCert, tlsKey,
                heartbeat, resync, stopGrace, reviewCacheTtl, nodeLabels, capacityCpus, reservedMemory, syncTimeout,
                launcher, VmNetwork.Settings.none());
    }

    public static AgentSettings defaults(String nodeName, Path imageRoot, Path runtimeRoot, List<String> vmmCommand) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, List.copyOf(vmmCommand), "0.0.0.0", 9443, null,
                true, null, null, Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofSeconds(30),
                Duration.ofSeconds(10), Map.of(), null, 512L << 20, Duration.ofSeconds(60),
                new VmmLauncher.Setsid());
    }

    public AgentSettings withListen(String host, int port) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, vmmCommand, host, port, endpoint, tls, tlsCert,
                tlsKey, heartbeat, resync, stopGrace, reviewCacheTtl, nodeLabels, capacityCpus, reservedMemory,
                syncTimeout, launcher, network);
    }

    public AgentSettings withEndpoint(String e) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, vmmCommand, listenHost, listenPort, e, tls, tlsCert,
                tlsKey, heartbeat, resync, stopGrace, reviewCacheTtl, nodeLabels, capacityCpus, reservedMemory,
                syncTimeout, launcher, network);
    }

    public AgentSettings withTls(boolean on, Path cert, Path key) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, vmmCommand, listenHost, listenPort, endpoint, on,
                cert, key, heartbeat, resync, stopGrace, reviewCacheTtl, nodeLabels, capacityCpus, reservedMemory,
                syncTimeout, launcher, network);
    }

    public AgentSettings withTimings(Duration heartbeat, Duration resync, Duration stopGrace) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, vmmCommand, listenHost, listenPort, endpoint, tls,
                tlsCert, tlsKey, heartbeat, resync, stopGrace, reviewCacheTtl, nodeLabels, capacityCpus, reservedMemory,
                syncTimeout, launcher, network);
    }

    public AgentSettings withReviewCacheTtl(Duration ttl) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, vmmCommand, listenHost, listenPort, endpoint, tls,
                tlsCert, tlsKey, heartbeat, resync, stopGrace, ttl, nodeLabels, capacityCpus, reservedMemory,
                syncTimeout, launcher, network);
    }

    public AgentSettings withCapacity(Integer cpus, long reservedMemory, Map<String, String> labels) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, vmmCommand, listenHost, listenPort, endpoint, tls,
                tlsCert, tlsKey, heartbeat, resync, stopGrace, reviewCacheTtl, Map.copyOf(labels), cpus, reservedMemory,
                syncTimeout, launcher, network);
    }

    public AgentSettings withSyncTimeout(Duration d) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, vmmCommand, listenHost, listenPort, endpoint, tls,
                tlsCert, tlsKey, heartbeat, resync, stopGrace, reviewCacheTtl, nodeLabels, capacityCpus, reservedMemory,
                d, launcher, network);
    }

    public AgentSettings withLauncher(VmmLauncher l) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, vmmCommand, listenHost, listenPort, endpoint, tls,
                tlsCert, tlsKey, heartbeat, resync, stopGrace, reviewCacheTtl, nodeLabels, capacityCpus, reservedMemory,
                syncTimeout, l, network);
    }

    public AgentSettings withNetwork(VmNetwork.Settings n) {
        return new AgentSettings(nodeName, imageRoot, runtimeRoot, vmmCommand, listenHost, listenPort, endpoint, tls,
                tlsCert, tlsKey, heartbeat, resync, stopGrace, reviewCacheTtl, nodeLabels, capacityCpus, reservedMemory,
                syncTimeout, launcher, n);
    }
}
