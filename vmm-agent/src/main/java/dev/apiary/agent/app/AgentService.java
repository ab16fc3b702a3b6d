package dev.apiary.agent.app;

import dev.apiary.agent.AgentRuntime;
import dev.apiary.agent.AgentSettings;
import dev.apiary.agent.net.VmNetwork;
import dev.apiary.agent.runtime.VmmLauncher;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** Starts the agent with the Quarkus-managed Kubernetes client and Vert.x, stops it (not its VMs) at shutdown. */
@ApplicationScoped
public class AgentService {
    private final KubernetesClient client;
    private final Vertx vertx;
    private final AgentConfig config;
    private AgentRuntime runtime;

    public AgentService(KubernetesClient client, Vertx vertx, AgentConfig config) {
        this.client = client;
        this.vertx = vertx;
        this.config = config;
    }

    void onStart(@Observes StartupEvent e) throws IOException {
        runtime = new AgentRuntime(client, settings(config), vertx);
        runtime.start();
    }

    void onStop(@Observes ShutdownEvent e) {
        if (runtime != null) runtime.stop();
    }

    static AgentSettings settings(AgentConfig c) {
        List<String> vmm = Arrays.stream(c.vmmCommand().trim().split("\\s+")).toList();
        return AgentSettings.defaults(c.nodeName(), Path.of(c.imageRoot()), Path.of(c.runtimeDir()), vmm)
                .withListen(c.listenHost(), c.port())
                .withEndpoint(c.endpoint().orElse(null))
                .withTls(c.tls().enabled(), c.tls().cert().map(Path::of).orElse(null),
                        c.tls().key().map(Path::of).orElse(null))
                .withTimings(c.heartbeatInterval(), c.resyncInterval(), c.stopGracePeriod())
                .withSyncTimeout(c.syncTimeout())
                .withReviewCacheTtl(c.reviewCacheTtl())
                .withCapacity(c.capacityCpus().orElse(null), c.reservedMemoryBytes(), c.nodeLabels())
                .withLauncher(VmmLauncher.of(c.launcher(), c.hostRoot().map(Path::of).orElse(null),
                        List.of(Path.of(c.runtimeDir()), Path.of(c.imageRoot()))))
                .withNetwork(VmNetwork.Settings.of(c.network().bridge().orElse(null), c.network().subnet().orElse(null),
                        c.network().subnetBridge(), c.network().tapOwner().orElse(null)));
    }
}
