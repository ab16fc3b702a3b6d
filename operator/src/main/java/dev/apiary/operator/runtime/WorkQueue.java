package dev.apiary.operator.runtime;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * A keyed work queue with one worker, as client-go's: a key waiting is queued once however often it is added, a key
 * being worked on is never worked on twice at once (one added meanwhile runs again afterwards), failures are
 * retried with per-key exponential delay (50 ms doubling to 1 min), and the handler may ask to be called again
 * later. One worker per kind keeps decisions that share state (capacity) strictly ordered.
 */
public final class WorkQueue {
    private static final Logger LOG = Logger.getLogger(WorkQueue.class);
    private static final long RETRY_BASE_MS = 50;
    private static final long RETRY_CAP_MS = 60_000;

    private final String name;
    private final Function<String, Optional<Duration>> handler;
    private final LinkedHashSet<String> queued = new LinkedHashSet<>();
    private final Set<String> active = new HashSet<>();
    private final Set<String> dirty = new HashSet<>();
    private final Map<String, Integer> failures = new HashMap<>();
    private final ScheduledExecutorService timers;
    private final Thread worker;
    private volatile boolean stopped;

    public WorkQueue(String name, Function<String, Optional<Duration>> handler) {
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
            Optional<Duration> again = Optional.empty();
            boolean failed = false;
            try {
                again = handler.apply(key);
            } catch (RuntimeException e) {
                failed = true;
                if (!stopped) LOG.warnf(e, "%s: reconcile of %s failed; will retry", name, key);
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
            if (failed) {
                addAfter(key, Duration.ofMillis(retryMs));
            } else {
                again.ifPresent(d -> addAfter(key, d));
            }
        }
    }
}
