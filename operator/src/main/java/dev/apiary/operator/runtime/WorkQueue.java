package dev.apiary.operator.runtime;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * A keyed work queue with one worker, as client-go's: a key waiting is queued once however often it is added, a key
 * being worked on is never worked on twice at once (one added meanwhile runs again afterwards), failures are
 * retried with per-key exponential delay (50 ms doubling to 1 min), and the handler may ask to be called again
 * later. One worker per kind keeps decisions that share state (capacity) strictly ordered.
 *
 * <p>A handler may finish asynchronously: it decides on the worker and returns a stage for the API writes that carry
 * the decision out (kube-scheduler's assume-then-bind). The worker goes on to the next key at once; the key counts as
 * being worked on until its stage completes, so one VM never has two decisions or two writes in flight.
 */
public final class WorkQueue {
    private static final Logger LOG = Logger.getLogger(WorkQueue.class);
    private static final long RETRY_BASE_MS = 50;
    private static final long RETRY_CAP_MS = 60_000;

    private final String name;
    private final Function<String, CompletionStage<Optional<Duration>>> handler;
    private final LinkedHashSet<String> queued = new LinkedHashSet<>();
    private final Set<String> active = new HashSet<>();
    private final Set<String> dirty = new HashSet<>();
    private final Map<String, Integer> failures = new HashMap<>();
    /** Keys with a coalesced add pending ({@link #addSoon}). */
    private final Set<String> soon = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService timers;
    private final Thread worker;
    private volatile boolean stopped;

    /** A queue whose handler is done when it returns. */
    public WorkQueue(String name, Function<String, Optional<Duration>> handler) {
        this(name, key -> CompletableFuture.completedFuture(handler.apply(key)), (Void) null);
    }

    /** A queue whose handler is done when the stage it returns completes (see the class comment). */
    public static WorkQueue async(String name, Function<String, CompletionStage<Optional<Duration>>> handler) {
        return new WorkQueue(name, handler, (Void) null);
    }

    private WorkQueue(String name, Function<String, CompletionStage<Optional<Duration>>> handler, Void async) {
        this.name = name;
        this.handler = handler;
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, name + "-timer"));
        this.worker = daemon(this::work, name + "-worker");
    }

    private static Thread daemon(Runnable r, String n) {
        Thread t = new Thread(r, n);
        t.setDaemon(true);
        return t;
    }

    public void start() {
        worker.start();
    }

    public synchronized void add(String key) {
        if (stopped) return;
        if (active.contains(key)) {
            dirty.add(key);
        } else if (queued.add(key)) {
            notifyAll();
        }
    }

    public void addAfter(String key, Duration delay) {
        if (stopped) return;
        if (delay.isZero() || delay.isNegative()) {
            add(key);
        } else {
            timers.schedule(() -> add(key), Math.max(1, delay.toMillis()), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Adds the key after {@code delay}, once however often it is called meanwhile: for work whose result only needs
     * to be current soon (a VmmNode's status.allocated), so a burst of bindings makes one write, not one each.
     */
    public void addSoon(String key, Duration delay) {
        if (stopped || !soon.add(key)) return;
        try {
            timers.schedule(() -> {
                soon.remove(key);
                add(key);
            }, Math.max(1, delay.toMillis()), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            soon.remove(key); // stopped meanwhile
        }
    }

    public synchronized int depth() {
        return queued.size() + active.size();
    }

    public synchronized boolean idle() {
        return queued.isEmpty() && active.isEmpty();
    }

    public void stop() {
        synchronized (this) {
            stopped = true;
            queued.clear();
            notifyAll();
        }
        timers.shutdownNow();
        worker.interrupt();
        try {
            worker.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String take() throws InterruptedException {
        synchronized (this) {
            while (queued.isEmpty() && !stopped) wait();
            if (stopped) return null;
            var it = queued.iterator();
            String key = it.next();
            it.remove();
            active.add(key);
            return key;
        }
    }

    private void work() {
        while (!stopped) {
            String key;
            try {
                key = take();
            } catch (InterruptedException e) {
                return;
            }
            if (key == null) return;
            CompletionStage<Optional<Duration>> done;
            try {
                done = handler.apply(key);
            } catch (RuntimeException e) {
                done = CompletableFuture.failedFuture(e);
            }
            done.whenComplete((again, error) -> finished(key, again, error));
        }
    }

    private void finished(String key, Optional<Duration> again, Throwable error) {
        boolean failed = error != null;
        if (failed && !stopped) {
            LOG.warnf(error instanceof CompletionException && error.getCause() != null ? error.getCause() : error,
                    "%s: reconcile of %s failed; will retry", name, key);
        }
        long retryMs = 0;
        synchronized (this) {
            active.remove(key);
            if (failed) {
                int n = failures.merge(key, 1, Integer::sum);
                retryMs = Math.min(RETRY_CAP_MS, RETRY_BASE_MS << Math.min(n - 1, 20));
            } else {
                failures.remove(key);
            }
            if (dirty.remove(key)) {
                queued.add(key);
                notifyAll();
            }
        }
        try {
            if (failed) {
                addAfter(key, Duration.ofMillis(retryMs));
            } else if (again != null) {
                again.ifPresent(d -> addAfter(key, d));
            }
        } catch (RejectedExecutionException e) {
            // stopped meanwhile: nothing more to do for this term
        }
    }
}
