package dev.apiary.operator.app;

import dev.apiary.operator.runtime.OperatorRuntime;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/** /q/health/live and /q/health/ready of the operator; see {@link #live} and {@link #ready}. */
public final class OperatorHealth {
    private OperatorHealth() {}

    /** Live: the process runs its runtime (waiting for the API server is no reason to be restarted). */
    public static HealthCheckResponse live(OperatorRuntime rt) {
        return HealthCheckResponse.named("apiary-operator").status(rt.live()).withData("leading", rt.leading()).build();
    }

    /**
     * Ready: a standby replica (not leading) is ready, so a rollout does not wait for leadership; the leader is ready
     * once its informer caches have synced. When they have not past the deadline, {@code reason} says why (403 on
     * list, a missing CRD, …) — the same words as the CacheSyncTimeout Event.
     */
    public static HealthCheckResponse ready(OperatorRuntime rt) {
        var b = HealthCheckResponse.named("apiary-operator").status(rt.ready()).withData("leading", rt.leading());
        String why = rt.notReadyReason();
        if (why != null) b.withData("reason", why);
        return b.build();
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
            return live(service.runtime());
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
            return ready(service.runtime());
        }
    }
}
