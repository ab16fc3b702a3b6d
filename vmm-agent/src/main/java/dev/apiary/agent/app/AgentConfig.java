package dev.apiary.agent.app;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/** application.properties prefix {@code apiary.agent}; every key also reads from APIARY_AGENT_* variables. */
@ConfigMapping(prefix = "apiary.agent")
public interface AgentConfig {
    /** The node (and VmmNode) name; the DaemonSet passes spec.nodeName as NODE_NAME. */
    @WithDefault("${NODE_NAME:localhost}")
    String nodeName();

    @WithDefault("/var/lib/apiary/images")
    String imageRoot();

    @WithDefault("/run/apiary")
    String runtimeDir();

    /** The VMM launcher; "launch --runtime-dir DIR --image-root ROOT" is appended. */
    @WithDefault("/opt/apiary/bin/vmm")
    String vmmCommand();

    /**
     * How VMMs are started: {@code setsid} (the agent's child in its own session; outlives the agent's process, not
     * its container) or {@code host-systemd} (a transient systemd service of the host; outlives the container).
     */
    @WithDefault("setsid")
    String launcher();

    /** host-systemd: the VMM's root file system on the host (stage-host-root); absent: the host's root. */
    Optional<String> hostRoot();

    @WithDefault("0.0.0.0")
    String listenHost();

    @WithDefault("9443")
    int port();

    /** Published base URL (default https://NODE_NAME:PORT). */
    Optional<String> endpoint();

    Tls tls();

    @WithDefault("10s")
    Duration heartbeatInterval();

    @WithDefault("1s")
    Duration resyncInterval();

    @WithDefault("30s")
    Duration stopGracePeriod();

    @WithDefault("10s")
    Duration reviewCacheTtl();

    /** A VM informer not synced after this long is reported (readiness DOWN with the reason, an Event). */
    @WithDefault("60s")
    Duration syncTimeout();

    Optional<Integer> capacityCpus();

    @WithDefault("536870912")
    long reservedMemoryBytes();

    Map<String, String> nodeLabels();

    /** Where the TAPs of VMs' tap networks go (docs/networking.md). */
    Network network();

    interface Network {
        /** An existing bridge of the node to put VMs' TAPs into. */
        Optional<String> bridge();

        /** A private IPv4 subnet (CIDR) the agent makes a masqueraded bridge for; wins over bridge. */
        Optional<String> subnet();

        /** The bridge the agent makes for subnet. */
        @WithDefault("apiary0")
        String subnetBridge();

        /** The uid VMMs run as, which owns their TAPs (default: the agent's). */
        Optional<Integer> tapOwner();
    }

    interface Tls {
        @WithDefault("true")
        boolean enabled();

        Optional<String> cert();

        Optional<String> key();
    }
}
