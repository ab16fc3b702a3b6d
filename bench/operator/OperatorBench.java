import dev.apiary.crds.VirtualMachine;
import dev.apiary.operator.it.MockCluster;
import dev.apiary.operator.runtime.OperatorRuntime;
import dev.apiary.operator.vm.VmApi;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Operator throughput: VMs per second from create to Scheduled=True against the fabric8 mock API server (CRUD mode,
 * in this JVM), 20 nodes with room for all, and the operator's retained heap. Run with bench/operator/run.sh.
 */
public class OperatorBench {
    static final int CREATORS = 4;

    public static void main(String[] args) throws Exception {
        List<Integer> sizes = new ArrayList<>();
        for (String a : args) sizes.add(Integer.parseInt(a));
        if (sizes.isEmpty()) sizes = List.of(100, 1000);
        System.out.println("| VMs | create→all Scheduled (s) | VMs/s | latency p50 (ms) | p99 (ms) | operator heap (MiB) "
                + "| mock write load | server writes/s |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (int n : sizes) run(n);
        System.out.println();
        System.out.println("Backlog: the VMs exist before the operator starts (its binding rate alone, not the creator's):");
        System.out.println("| VMs | operator start→all Scheduled (s) | VMs/s | mock write load |");
        System.out.println("|---:|---:|---:|---:|");
        for (int n : sizes) backlog(n);
        System.out.println();
        System.out.println("The operator alone: the same backlog, its VM writes applied in memory instead of sent (no server"
                + " write on the binding path; Events and VmmNode patches still go to the mock):");
        System.out.println("| VMs | operator start→all bound (s) | VMs/s |");
        System.out.println("|---:|---:|---:|");
        for (int n : sizes) alone(n);
        System.exit(0);
    }

    static void run(int n) throws Exception {
        try (MockCluster k = new MockCluster()) {
            for (int i = 0; i < 20; i++) k.agent("node-" + i, 64 * 4, "1Ti", Map.of());
            Map<String, Long> created = new ConcurrentHashMap<>();
            Map<String, Long> scheduled = new ConcurrentHashMap<>();
            k.client.resources(VirtualMachine.class).inNamespace("default").watch(new Watcher<>() {
                public void eventReceived(Action action, VirtualMachine vm) {
                    if (MockCluster.condition(vm, "Scheduled").map(c -> "True".equals(c.getStatus())).orElse(false)) {
                        scheduled.putIfAbsent(vm.getMetadata().getName(), System.nanoTime());
                    }
                }

                public void onClose(WatcherException e) {}
            });
            gc();
            long base = used();
            OperatorRuntime op = k.startOperator(MockCluster.settings().withHeartbeatTimeout(Duration.ofMinutes(10)),
                    VmApi::of);
            long t0 = System.nanoTime();
            long busy0 = k.writeBusyNanos();
            long writes0 = writes(k);
            // CREATORS clients create in parallel (as kube-scheduler's scheduler_perf does): one client waiting for each
            // answer would cap the rate at 1/(create latency) before the operator is even involved.
            ExecutorService creators = Executors.newFixedThreadPool(CREATORS);
            AtomicInteger next = new AtomicInteger();
            for (int c = 0; c < CREATORS; c++) {
                creators.submit(() -> {
                    for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                        String name = "b" + i;
                        created.put(name, System.nanoTime());
                        k.create(MockCluster.vmYaml(name, "Always", 1 + i % 4, (1 + i % 4) + "Gi"));
                    }
                    return null;
                });
            }
            creators.shutdown();
            while (scheduled.size() < n) Thread.sleep(10);
            long t1 = System.nanoTime();
            double load = (k.writeBusyNanos() - busy0) / (double) (t1 - t0);
            double writeRate = (writes(k) - writes0) / ((t1 - t0) / 1e9);
            List<Long> lat = new ArrayList<>();
            for (var e : scheduled.entrySet()) lat.add((e.getValue() - created.get(e.getKey())) / 1_000_000);
            Collections.sort(lat);
            while (!op.idle()) Thread.sleep(50);
            gc();
            long withOperator = used();
            op.stop();
            gc();
            long without = used();
            double secs = (t1 - t0) / 1e9;
            System.out.printf("| %d | %.2f | %.0f | %d | %d | %.1f | %.0f %% | %.0f |%n", n, secs, n / secs,
                    lat.get(lat.size() / 2), lat.get(Math.min(lat.size() - 1, (int) Math.ceil(lat.size() * 0.99) - 1)),
                    (withOperator - without) / 1048576.0, 100 * load, writeRate);
            if (base < 0) System.out.println(base);
            if (Boolean.getBoolean("bench.threads")) threadCpu();
            if (Boolean.getBoolean("bench.requests")) {
                k.requests().forEach((what, c) -> System.out.printf("    %-32s %7d requests, %6.2f per VM, %6.0f µs each%n",
                        what, c[0], c[0] / (double) n, c[1] / 1e3 / Math.max(1, c[0])));
                System.out.printf("    the mock held its write lock %.2f s of the %.2f s (%.0f µs per write)%n",
                        (k.writeBusyNanos() - busy0) / 1e9, secs, (k.writeBusyNanos() - busy0) / 1e3 / Math.max(1,
                                k.requests().entrySet().stream().filter(e -> !e.getKey().startsWith("GET"))
                                        .mapToLong(e -> e.getValue()[0]).sum()));
            }
        }
    }

    static void backlog(int n) throws Exception {
        try (MockCluster k = new MockCluster()) {
            for (int i = 0; i < 20; i++) k.agent("node-" + i, 64 * 4, "1Ti", Map.of());
            for (int i = 0; i < n; i++) k.create(MockCluster.vmYaml("b" + i, "Always", 1 + i % 4, (1 + i % 4) + "Gi"));
            Map<String, Long> scheduled = new ConcurrentHashMap<>();
            k.client.resources(VirtualMachine.class).inNamespace("default").watch(new Watcher<>() {
                public void eventReceived(Action action, VirtualMachine vm) {
                    if (MockCluster.condition(vm, "Scheduled").map(c -> "True".equals(c.getStatus())).orElse(false)) {
                        scheduled.putIfAbsent(vm.getMetadata().getName(), System.nanoTime());
                    }
                }

                public void onClose(WatcherException e) {}
            });
            long t0 = System.nanoTime();
            long busy0 = k.writeBusyNanos();
            k.startOperator(MockCluster.settings().withHeartbeatTimeout(Duration.ofMinutes(10)), VmApi::of);
            while (scheduled.size() < n) Thread.sleep(10);
            long t1 = System.nanoTime();
            double secs = (t1 - t0) / 1e9;
            System.out.printf("| %d | %.2f | %.0f | %.0f %% |%n", n, secs, n / secs,
                    100 * (k.writeBusyNanos() - busy0) / (double) (t1 - t0));
        }
    }

    /** Writes (every request but GET) the mock answered so far: creates, patches, events. */
    static long writes(MockCluster k) {
        return k.requests().entrySet().stream().filter(e -> !e.getKey().startsWith("GET")).mapToLong(e -> e.getValue()[0])
                .sum();
    }

    static void alone(int n) throws Exception {
        try (MockCluster k = new MockCluster()) {
            for (int i = 0; i < 20; i++) k.agent("node-" + i, 64 * 4, "1Ti", Map.of());
            for (int i = 0; i < n; i++) k.create(MockCluster.vmYaml("b" + i, "Always", 1 + i % 4, (1 + i % 4) + "Gi"));
            java.util.Set<String> bound = ConcurrentHashMap.newKeySet();
            java.util.concurrent.atomic.AtomicLong rv = new java.util.concurrent.atomic.AtomicLong(1L << 40);
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            long t0 = System.nanoTime();
            k.startOperator(MockCluster.settings().withHeartbeatTimeout(Duration.ofMinutes(10)), client -> new VmApi() {
                public VirtualMachine get(String namespace, String name) {
                    return VmApi.of(client).get(namespace, name);
                }

                public VirtualMachine patch(VirtualMachine vm, com.fasterxml.jackson.databind.node.ObjectNode p) {
                    return apply(vm, p);
                }

                public VirtualMachine patchStatus(VirtualMachine vm, com.fasterxml.jackson.databind.node.ObjectNode p) {
                    VirtualMachine after = apply(vm, p);
                    if (after.getStatus() != null && after.getStatus().nodeName != null) bound.add(vm.getMetadata().getName());
                    return after;
                }

                /** As the server would answer: the merged object with a newer resourceVersion. */
                private VirtualMachine apply(VirtualMachine vm, com.fasterxml.jackson.databind.node.ObjectNode p) {
                    var merged = dev.apiary.crds.MergePatch.apply(json.valueToTree(vm), p);
                    ((com.fasterxml.jackson.databind.node.ObjectNode) merged.path("metadata"))
                            .put("resourceVersion", String.valueOf(rv.incrementAndGet()));
                    return json.convertValue(merged, VirtualMachine.class);
                }
            });
            while (bound.size() < n) Thread.sleep(5);
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("| %d | %.2f | %.0f |%n", n, secs, n / secs);
        }
    }

    /** CPU time per group of live threads (names with their numbers cut off): where the run's time went. */
    static void threadCpu() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        Map<String, Long> byGroup = new java.util.TreeMap<>();
        for (long id : mx.getAllThreadIds()) {
            java.lang.management.ThreadInfo info = mx.getThreadInfo(id);
            long cpu = mx.getThreadCpuTime(id);
            if (info == null || cpu <= 0) continue;
            byGroup.merge(info.getThreadName().replaceAll("[-#]?[0-9]+$", "").replaceAll("-[0-9]+-", "-N-"), cpu, Long::sum);
        }
        byGroup.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(14)
                .forEach(e -> System.out.printf("    cpu %-44s %7.2f s%n", e.getKey(), e.getValue() / 1e9));
    }

    static void gc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }

    static long used() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }
}
