package dev.apiary.operator.app;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/** /q/health/live: the controllers run if this replica leads. /q/health/ready: same; a standby replica is ready. */
public final class OperatorHealth {
    private OperatorHealth() {}

    /**
     * Live and ready mean the same here: the informers and work queues run. A standby replica (not leading) is
     * ready too, so a rollout does not wait for leadership; `leading` tells which one acts.
     */
    static HealthCheckResponse status(OperatorService service) {
        var rt = service.runtime();
        return HealthCheckResponse.named("apiary-operator").status(rt.live()).withData("leading", rt.leading()).build();
    }

    @Liveness
    @ApplicationScoped
    public static class Live implements HealthCheck {
        private final OperatorService service;

        public Live(OperatorService service) {
            this.service = service;
        }

        @Override
        public HealthCheckResponse call() {
            return status(service);
        }
    }

    @Readiness
    @ApplicationScoped
    public static class Ready implements HealthCheck {
        private final OperatorService service;

        public Ready(OperatorService service) {
            this.service = service;
        }

        @Override
        public HealthCheckResponse call() {
            return status(service);
        }
    }
}
