package dev.apiary.operator.runtime;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.util.concurrent.ThreadLocalRandom;
import org.jboss.logging.Logger;

/** Records core/v1 Events on the objects the operator decides about (kubectl describe shows them). */
public final class EventRecorder {
    private static final Logger LOG = Logger.getLogger(EventRecorder.class);
    private final KubernetesClient client;
    private final Clock clock;
    private final String identity;
    private final java.util.concurrent.ExecutorService poster = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "event-recorder");
        t.setDaemon(true);
        return t;
    });

    public EventRecorder(KubernetesClient client, Clock clock, String identity) {
        this.client = client;
        this.clock = clock;
        this.identity = identity;
    }

    /**
     * Queues the event; a single background thread posts events in order, so recording never holds up a decision
     * (events are a courtesy: kubectl describe shows them, nothing reads them back).
     */
    public void record(HasMetadata obj, String type, String reason, String message) {
        try {
            poster.execute(() -> post(obj, type, reason, message));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debugf("event %s on %s dropped: recorder closed", reason, obj.getMetadata().getName());
        }
    }

    public void close() {
        poster.shutdown();
        try {
            poster.awaitTermination(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void post(HasMetadata obj, String type, String reason, String message) {
        String ns = obj.getMetadata().getNamespace() == null ? "default" : obj.getMetadata().getNamespace();
        String now = clock.instant().toString();
        String msg = message.length() > 1024 ? message.substring(0, 1021) + "..." : message;
        try {
            client.v1().events().inNamespace(ns).resource(new EventBuilder()
                    .withNewMetadata()
                    .withName(obj.getMetadata().getName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()))
                    .withNamespace(ns)
                    .endMetadata()
                    .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion(obj.getApiVersion())
                            .withKind(obj.getKind()).withName(obj.getMetadata().getName())
                            .withNamespace(obj.getMetadata().getNamespace()).withUid(obj.getMetadata().getUid())
                            .withResourceVersion(obj.getMetadata().getResourceVersion()).build())
                    .withType(type).withReason(reason).withMessage(msg)
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                    .withNewSource().withComponent("apiary-operator").endSource()
                    .withReportingComponent("apiary.dev/operator").withReportingInstance(identity)
                    .build()).create();
        } catch (KubernetesClientException | IllegalStateException e) {
            // An event is a courtesy; losing one (also to a client closed with the leader term) must not fail anything.
            LOG.debugf("event %s on %s not recorded: %s", reason, obj.getMetadata().getName(), e.getMessage());
        }
    }
}
