package dev.apiary.operator.lifecycle;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Condition list edits with Kubernetes' rule: lastTransitionTime changes only when status changes. */
public final class Conditions {
    public static final String TRUE = "True";
    public static final String FALSE = "False";
    public static final String UNKNOWN = "Unknown";

    private Conditions() {}

    public static Optional<Condition> find(List<Condition> conditions, String type) {
        return conditions == null ? Optional.empty()
                : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    public static boolean isTrue(List<Condition> conditions, String type) {
        return find(conditions, type).map(c -> TRUE.equals(c.getStatus())).orElse(false);
    }

    /** Sets (or adds) a condition; returns whether anything changed. */
    public static boolean set(List<Condition> conditions, String type, String status, String reason, String message,
            Instant now, Long generation) {
        Optional<Condition> old = find(conditions, type);
        if (old.isPresent()) {
            Condition c = old.get();
            boolean statusChanged = !status.equals(c.getStatus());
            boolean changed = statusChanged || !reason.equals(c.getReason()) || !message.equals(c.getMessage())
                    || (generation != null && !generation.equals(c.getObservedGeneration()));
            if (!changed) return false;
            if (statusChanged || c.getLastTransitionTime() == null) c.setLastTransitionTime(now.toString());
            c.setStatus(status);
            c.setReason(reason);
            c.setMessage(message);
            c.setObservedGeneration(generation);
            return true;
        }
        conditions.add(new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
                .withLastTransitionTime(now.toString()).withObservedGeneration(generation).build());
        return true;
    }

    public static boolean remove(List<Condition> conditions, String type) {
        return conditions.removeIf(c -> type.equals(c.getType()));
    }
}
