package dev.apiary.agent.node;

import dev.apiary.crds.Labels;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpecBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The node's {@code coordination.k8s.io/v1} Lease ({@code apiary-node-<node>}, labelled
 * {@code apiary.dev/node-lease=<node>}), renewed with every heartbeat as kubelets renew theirs: a small object, so a
 * renewal costs the API server and its watchers little. The operator judges liveness from when it observes a renewal,
 * by its own clock; renewTime (this node's clock) is informative only.
 */
public final class NodeLease {
    private static final DateTimeFormatter MICRO_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'");
    private final KubernetesClient client;
    private final String namespace;
    private final String node;
    private final Duration duration;
    private final Clock clock;

    public NodeLease(KubernetesClient client, String namespace, String node, Duration duration, Clock clock) {
        this.client = client;
        this.namespace = namespace;
        this.node = node;
        this.duration = duration;
        this.clock = clock;
    }

    public static String name(String node) {
        return "apiary-node-" + node;
    }

    public void renew() {
        String now = MICRO_TIME.format(ZonedDateTime.ofInstant(clock.instant(), ZoneOffset.UTC));
        var leases = client.resources(Lease.class).inNamespace(namespace);
        try {
            // Only this agent writes its Lease: a merge patch of renewTime needs no version.
            leases.withName(name(node)).patch(PatchContext.of(PatchType.JSON_MERGE),
                    "{\"spec\":{\"renewTime\":\"" + now + "\"}}");
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) throw e;
            Lease l = new Lease();
            l.setMetadata(new ObjectMetaBuilder().withName(name(node)).withNamespace(namespace)
                    .addToLabels(Labels.NODE_LEASE, node).build());
            l.setSpec(new LeaseSpecBuilder().withHolderIdentity(node)
                    .withLeaseDurationSeconds((int) duration.toSeconds())
                    .withAcquireTime(ZonedDateTime.ofInstant(clock.instant(), ZoneOffset.UTC))
                    .withRenewTime(ZonedDateTime.ofInstant(clock.instant(), ZoneOffset.UTC)).build());
            leases.resource(l).create();
        }
    }
}
