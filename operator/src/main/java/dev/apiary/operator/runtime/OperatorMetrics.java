package dev.apiary.operator.runtime;

import dev.apiary.crds.VmPhase;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus metrics: {@code apiary_operator_reconciles_total{kind,result}},
 * {@code apiary_operator_reconcile_seconds{kind}}, {@code apiary_operator_scheduling_total{result}},
 * {@code apiary_operator_vms{phase}}, {@code apiary_operator_queue_depth{kind}}, {@code apiary_operator_leader}.
 */
public final class OperatorMetrics {
    private final MeterRegistry registry;

    public OperatorMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public Timer.Sample start() {
        return Timer.start(registry);
    }

    public void reconciled(String kind, String result, Timer.Sample sample) {
        Counter.builder("apiary.operator.reconciles").description("Reconciles by kind and result")
                .tag("kind", kind).tag("result", result).register(registry).increment();
        sample.stop(Timer.builder("apiary.operator.reconcile").description("Reconcile latency")
                .tag("kind", kind).publishPercentileHistogram().register(registry));
    }

    /** Runs one reconcile of {@code kind}, counting it as success or error and timing it. */
    public <T> T timedReconcile(String kind, java.util.function.Supplier<T> reconcile) {
        Timer.Sample sample = start();
        String result = "error";
        try {
            T out = reconcile.get();
            result = "success";
            return out;
        } finally {
            reconciled(kind, result, sample);
        }
    }

    /** As {@link #timedReconcile}, for a reconcile that is done when the stage it returns completes. */
    public <T> CompletionStage<T> timedReconcileAsync(String kind, Supplier<CompletionStage<T>> reconcile) {
        Timer.Sample sample = start();
        CompletionStage<T> out;
        try {
            out = reconcile.get();
        } catch (RuntimeException e) {
            reconciled(kind, "error", sample);
            throw e;
        }
        return out.whenComplete((v, e) -> reconciled(kind, e == null ? "success" : "error", sample));
    }

    public void scheduled(String result) {
        Counter.builder("apiary.operator.scheduling").description("Scheduling decisions")
                .tag("result", result).register(registry).increment();
    }

    public <T> void vmsPerPhase(T source, java.util.function.BiFunction<T, VmPhase, Integer> count) {
        for (VmPhase p : VmPhase.values()) {
            Gauge.builder("apiary.operator.vms", source, s -> count.apply(s, p)).description("VMs per phase")
                    .tag("phase", p.name()).register(registry);
        }
    }

    public <T> void gauge(String name, String kind, T source, ToDoubleFunction<T> f) {
        Gauge.builder(name, source, f).tag("kind", kind).register(registry);
    }

    public <T> void leaderGauge(T source, ToDoubleFunction<T> f) {
        Gauge.builder("apiary.operator.leader", source, f).description("1 while this replica leads").register(registry);
    }
}
