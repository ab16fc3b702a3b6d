package dev.apiary.operator.app;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** application.properties / environment settings of the operator (APIARY_OPERATOR_HEARTBEAT_TIMEOUT=60s, …). */
@ConfigMapping(prefix = "apiary.operator")
public interface OperatorConfig {
    /** A VmmNode whose heartbeat is older is NotReady, and its VMs Unknown. */
    @WithDefault("40s")
    Duration heartbeatTimeout();

    /** First restart delay after a failed run; doubles per failure in a row. */
    @WithDefault("10s")
    Duration backoffBase();

    /** Longest restart delay. */
    @WithDefault("5m")
    Duration backoffCap();

    /** Full re-reconcile period. */
    @WithDefault("5m")
    Duration resync();

    /**
     * How long the controllers wait for their informers' first list before they report it (readiness DOWN with the
     * reason, a Warning Event on the pod); they keep retrying after that.
     */
    @WithDefault("60s")
    Duration syncTimeout();

    LeaderElection leaderElection();

    interface LeaderElection {
        @WithDefault("true")
        boolean enabled();

        /** Namespace of the Lease; defaults to the pod's namespace (POD_NAMESPACE). */
        Optional<String> namespace();

        @WithDefault("apiary-operator")
        String leaseName();

        /** This replica's name in the Lease; defaults to the pod name (HOSTNAME). */
        Optional<String> identity();

        @WithDefault("15s")
        Duration leaseDuration();

        @WithDefault("10s")
        Duration renewDeadline();

        @WithDefault("2s")
        Duration retryPeriod();
    }
}
