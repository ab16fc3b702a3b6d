package dev.apiary.operator.app;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/** /q/health/live: the controllers run if this replica leads. /q/health/ready: same; a standby replica is ready. */
public final class OperatorHealth {
    private OperatorHealth() {}

    @Liveness
    @ApplicationScoped
    public static class Live implements HealthCheck {
        private final OperatorService service;

        public Live(OperatorService service) {
            this.service = service;
        }

        @Override
        public HealthCheckResponse call() {
            var rt = service.runtime();
            return HealthCheckResponse.named("apiary-operator").status(rt.live())
                    .withData("leading", rt.leading()).build();
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
            var rt = service.runtime();
            return HealthCheckResponse.named("apiary-operator").status(rt.live())
                    .withData("leading", rt.leading()).build();
        }
    }
}
