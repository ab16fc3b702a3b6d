package dev.apiary.operator.lifecycle;

import java.time.Duration;

/** Restart delay after failed runs: base, 2×base, 4×base … capped (KubeVirt's crash-loop backoff shape). */
public record Backoff(Duration base, Duration cap) {
    public static final Backoff DEFAULT = new Backoff(Duration.ofSeconds(10), Duration.ofMinutes(5));

    /** Delay before the next start after {@code failures} failed runs in a row (failures ≥ 1). */
    public Duration delay(int failures) {
        int shift = Math.min(Math.max(failures - 1, 0), 30);
        Duration d = base.multipliedBy(1L << shift);
        return d.compareTo(cap) > 0 ? cap : d;
    }
}
