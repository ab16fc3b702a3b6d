package dev.apiary.operator.runtime;

import dev.apiary.operator.vm.VmApi;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import org.jboss.logging.Logger;

/**
 * The operator process: with a lease namespace set, it campaigns for the Lease and runs the controllers only while
 * it leads (so two replicas never act at once); without one, it runs them at once (tests, single replica).
 */
public final class OperatorRuntime {
    private static final Logger LOG = Logger.getLogger(OperatorRuntime.class);
    private final KubernetesClient client;
    private final OperatorSettings settings;
    private final Controllers controllers;
    private volatile boolean leading;
    private volatile boolean started;
    private CompletableFuture<?> election;

    public OperatorRuntime(KubernetesClient client, OperatorSettings settings, Clock clock, OperatorMetrics metrics) {
        this(client, settings, clock, metrics, VmApi.of(client));
    }

    public OperatorRuntime(KubernetesClient client, OperatorSettings settings, Clock clock, OperatorMetrics metrics,
            VmApi vmApi) {
        this.client = client;
        this.settings = settings;
        this.controllers = new Controllers(client, settings, clock, metrics, vmApi);
        metrics.vmsPerPhase(controllers, Controllers::vmsInPhase);
        metrics.gauge("apiary.operator.queue.depth", "all", controllers, Controllers::queueDepth);
        metrics.leaderGauge(this, r -> r.leading ? 1 : 0);
    }

    public synchronized void start() {
        started = true;
        if (settings.leaseNamespace() == null) {
            leading = true;
            controllers.start();
            return;
        }
        election = client.leaderElector().withConfig(new LeaderElectionConfigBuilder()
                .withName(settings.leaseName())
                .withLock(new LeaseLock(settings.leaseNamespace(), settings.leaseName(), settings.identity()))
                .withLeaseDuration(settings.leaseDuration())
                .withRenewDeadline(settings.renewDeadline())
                .withRetryPeriod(settings.retryPeriod())
                .withReleaseOnCancel(true)
                .withLeaderCallbacks(new LeaderCallbacks(
                        () -> {
                            LOG.infof("%s leads; starting controllers", settings.identity());
                            leading = true;
                            controllers.start();
                        },
                        () -> {
                            LOG.infof("%s no longer leads; stopping controllers", settings.identity());
                            leading = false;
                            controllers.stop();
                        },
                        leader -> LOG.infof("leader is %s", leader)))
                .build()).build().start();
    }

    public synchronized void stop() {
        if (election != null) election.cancel(true);
        leading = false;
        controllers.stop();
        started = false;
    }

    public boolean leading() {
        return leading;
    }

    /**
     * Live: started. Waiting for the API server (informers retrying a forbidden or missing resource) is not a reason
     * to restart the process; readiness says it.
     */
    public boolean live() {
        return started;
    }

    /** Ready: started, and if leading, its controllers run (the caches have synced). */
    public boolean ready() {
        return started && (!leading || controllers.running());
    }

    /** Why not {@link #ready()}, in words (null when ready). */
    public String notReadyReason() {
        if (ready()) return null;
        if (!started) return "not started";
        String why = controllers.notSynced();
        return why != null ? why : "leading; waiting for the informer caches' first list";
    }

    public boolean idle() {
        return controllers.idle();
    }

    public Controllers controllers() {
        return controllers;
    }
}
