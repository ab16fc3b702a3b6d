package dev.apiary.agent;

import dev.apiary.agent.api.AccessReview;
import dev.apiary.agent.api.AgentApi;
import dev.apiary.agent.api.KubernetesAccessReview;
import dev.apiary.agent.api.Tls;
import dev.apiary.agent.node.HostFacts;
import dev.apiary.agent.node.NodeLease;
import dev.apiary.agent.node.NodeRegistration;
import dev.apiary.agent.reconcile.NodeReconciler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PfxOptions;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * One agent: TLS identity, the API server (Vert.x), the VmmNode and its heartbeat, the reconciler. {@link #stop}
 * leaves every VMM running; a new runtime on the same runtime directory adopts them.
 */
public final class AgentRuntime implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AgentRuntime.class);
    public static final String VERSION = versionOf();
    private final KubernetesClient client;
    private final AgentSettings settings;
    private final Vertx vertx;
    private final AccessReview review;
    private final Clock clock;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-heartbeat");
        t.setDaemon(true);
        return t;
    });
    private HttpServer server;
    private NodeReconciler reconciler;
    private NodeRegistration registration;
    private volatile AgentApi api;
    private String endpoint;
    private Tls tls;

    public AgentRuntime(KubernetesClient client, AgentSettings settings, Vertx vertx, AccessReview review, Clock clock) {
        this.client = client;
        this.settings = settings;
        this.vertx = vertx;
        this.review = review != null ? review : new KubernetesAccessReview(client, settings.reviewCacheTtl(), clock);
        this.clock = clock;
    }

    public AgentRuntime(KubernetesClient client, AgentSettings settings, Vertx vertx) {
        this(client, settings, vertx, null, Clock.systemUTC());
    }

    public synchronized void start() throws IOException {
        java.nio.file.Files.createDirectories(settings.runtimeRoot());
        // "binary": noVNC's WebSocket subprotocol for RFB; chosen when a client offers it (browsers fail a connection
        // whose offered subprotocols get no answer).
        HttpServerOptions opts = new HttpServerOptions().setHost(settings.listenHost()).setPort(settings.listenPort())
                .setWebSocketSubProtocols(List.of("binary"));
        if (settings.tls()) {
            tls = settings.tlsCert() != null ? Tls.fromPem(settings.tlsCert(), settings.tlsKey())
                    : Tls.selfSigned(settings.runtimeRoot().resolve(".tls"), settings.nodeName());
            opts.setSsl(true);
            if (tls.pkcs12() != null) {
                opts.setKeyCertOptions(new PfxOptions().setPath(tls.pkcs12().toString()).setPassword(tls.password()));
            } else {
                opts.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certPem().toString())
                        .setKeyPath(tls.keyPem().toString()));
            }
        }
        // The reconciler needs the endpoint, the API needs the reconciler: bind first, then wire the routes in.
        var routes = new java.util.concurrent.atomic.AtomicReference<io.vertx.ext.web.Router>();
        server = vertx.createHttpServer(opts).requestHandler(req -> {
            var r = routes.get();
            if (r == null) req.response().setStatusCode(503).end("{\"error\":\"starting\"}");
            else r.handle(req);
        }).webSocketHandler(ws -> {
            if (api == null) ws.reject(503);
            else api.webSocket(vertx, ws);
        });
        try {
            server = server.listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("cannot listen on " + settings.listenHost() + ":" + settings.listenPort() + ": "
                    + e.getMessage(), e);
        }
        // "{port}" in a configured endpoint is the port bound (tests listen on port 0).
        endpoint = settings.endpoint() != null ? settings.endpoint().replace("{port}", Integer.toString(server.actualPort()))
                : (settings.tls() ? "https://" : "http://") + settings.nodeName() + ":" + server.actualPort();
        reconciler = new NodeReconciler(client, settings.nodeName(), settings.runtimeRoot(), settings.vmmCommand(),
                settings.launcher(), settings.imageRoot(), settings.stopGrace(), settings.resync(), endpoint, clock,
                settings.syncTimeout());
        api = new AgentApi(vertx, reconciler, review);
        routes.set(api.router(vertx));
        reconciler.start();

        registration = new NodeRegistration(client, settings.nodeName(), settings.nodeLabels(), endpoint,
                tls == null ? null : tls.sha256(), VERSION, HostFacts.basic(), settings.capacityCpus(),
                settings.reservedMemory(), clock);
        String leaseNs = Optional.ofNullable(System.getenv("POD_NAMESPACE")).orElse(
                Optional.ofNullable(client.getNamespace()).orElse("default"));
        lease = new NodeLease(client, leaseNs, settings.nodeName(), Duration.ofSeconds(40), clock);
        timer.execute(this::registerQuietly);
        long beat = settings.heartbeat().toMillis();
        timer.scheduleAtFixedRate(this::heartbeatQuietly, beat, beat, TimeUnit.MILLISECONDS);
        CompletableFuture.runAsync(() -> {
            HostFacts f = HostFacts.probe(HostFacts.basic(), settings.vmmCommand());
            LOG.infof("host probe: KVM API %s, full guests %s (%s); accelerators %s", f.kvmApiVersion(),
                    f.fullGuests(), f.reason(), f.accelerators());
            registration.facts(f);
            timer.execute(this::heartbeatQuietly);
        });
        LOG.infof("vmm-agent %s for node %s: API at %s, runtime directory %s", VERSION, settings.nodeName(), endpoint,
                settings.runtimeRoot());
    }

    private boolean registered;

    private void registerQuietly() {
        try {
            registration.register();
            registered = true;
        } catch (RuntimeException e) {
            LOG.warnf("cannot register VmmNode %s yet: %s (retrying)", settings.nodeName(), e.getMessage());
        }
    }

    private NodeLease lease;

    private void heartbeatQuietly() {
        try {
            lease.renew();
        } catch (RuntimeException e) {
            LOG.warnf("Lease renewal failed: %s (retrying)", e.getMessage());
        }
        if (!registered) {
            registerQuietly();
            return;
        }
        try {
            // register() also brings the VmmNode's labels in line with the Node's (nodeSelector uses them).
            registration.register();
        } catch (RuntimeException e) {
            LOG.warnf("heartbeat failed: %s (VMs keep running; retrying)", e.getMessage());
        }
    }

    public String endpoint() {
        return endpoint;
    }

    public int port() {
        return server.actualPort();
    }

    public String certSha256() {
        return tls == null ? null : tls.sha256();
    }

    public NodeReconciler reconciler() {
        return reconciler;
    }

    /** Stops serving and reconciling; the VMM processes keep running. */
    public synchronized void stop() {
        timer.shutdownNow();
        if (reconciler != null) reconciler.close();
        if (api != null) api.close();
        if (server != null) {
            try {
                server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.debugf("closing the API server: %s", e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        stop();
    }

    private static String versionOf() {
        String v = AgentRuntime.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0-SNAPSHOT";
    }
}
