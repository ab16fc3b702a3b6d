package dev.apiary.operator.runtime;

import dev.apiary.operator.lifecycle.Backoff;
import java.time.Duration;

/**
 * Knobs of the operator (application.properties prefix {@code apiary.operator}).
 *
 * @param heartbeatTimeout a VmmNode whose heartbeat is older is NotReady and its VMs Unknown
 * @param resync           every VM and node is reconciled again this often even without changes
 * @param leaseNamespace   where the leader-election Lease lives (null: leader election off, for tests)
 * @param syncTimeout      informers not synced after this long are reported (readiness, an Event), not waited on
 *                         silently; they keep retrying
 */
public record OperatorSettings(Duration heartbeatTimeout, Backoff backoff, Duration resync, String leaseNamespace,
        String leaseName, String identity, Duration leaseDuration, Duration renewDeadline, Duration retryPeriod,
        Duration syncTimeout) {

    public static OperatorSettings defaults() {
        return new OperatorSettings(Duration.ofSeconds(40), Backoff.DEFAULT, Duration.ofMinutes(5), null,
                "apiary-operator", "operator", Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofSeconds(2),
                Duration.ofSeconds(60));
    }

    public OperatorSettings withSyncTimeout(Duration d) {
        return new OperatorSettings(heartbeatTimeout, backoff, resync, leaseNamespace, leaseName, identity,
                leaseDuration, renewDeadline, retryPeriod, d);
    }

    public OperatorSettings withHeartbeatTimeout(Duration d) {
        return new OperatorSettings(d, backoff, resync, leaseNamespace, leaseName, identity, leaseDuration,
                renewDeadline, retryPeriod, syncTimeout);
    }

    public OperatorSettings withBackoff(Backoff b) {
        return new OperatorSettings(heartbeatTimeout, b, resync, leaseNamespace, leaseName, identity, leaseDuration,
                renewDeadline, retryPeriod, syncTimeout);
    }

    public OperatorSettings withLeaderElection(String namespace, String identity, Duration leaseDuration,
            Duration renewDeadline, Duration retryPeriod) {
        return new OperatorSettings(heartbeatTimeout, backoff, resync, namespace, leaseName, identity, leaseDuration,
                renewDeadline, retryPeriod, syncTimeout);
    }
}
