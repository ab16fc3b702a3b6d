package dev.apiary.operator.app;

import dev.apiary.operator.lifecycle.Backoff;
import dev.apiary.operator.runtime.OperatorMetrics;
import dev.apiary.operator.runtime.OperatorRuntime;
import dev.apiary.operator.runtime.OperatorSettings;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Clock;
import java.util.Optional;

/** Starts the operator with the Quarkus application and stops it (releasing the Lease) on shutdown. */
@ApplicationScoped
public class OperatorService {
    private final OperatorRuntime runtime;

    public OperatorService(KubernetesClient client, MeterRegistry registry, OperatorConfig config) {
        var le = config.leaderElection();
        String identity = le.identity().or(() -> Optional.ofNullable(System.getenv("HOSTNAME"))).orElse("operator");
        String leaseNs = !le.enabled() ? null
                : le.namespace().or(() -> Optional.ofNullable(System.getenv("POD_NAMESPACE")))
                        .orElse(client.getNamespace() == null ? "apiary-system" : client.getNamespace());
        OperatorSettings settings = new OperatorSettings(config.heartbeatTimeout(),
                new Backoff(config.backoffBase(), config.backoffCap()), config.resync(), leaseNs, le.leaseName(),
                identity, le.leaseDuration(), le.renewDeadline(), le.retryPeriod(), config.syncTimeout());
        this.runtime = new OperatorRuntime(client, settings, Clock.systemUTC(), new OperatorMetrics(registry));
    }

    void onStart(@Observes StartupEvent e) {
        runtime.start();
    }

    void onStop(@Observes ShutdownEvent e) {
        runtime.stop();
    }

    public OperatorRuntime runtime() {
        return runtime;
    }
}
