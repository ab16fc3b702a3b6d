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

/**
 * Operator throughput: VMs per second from create to Scheduled=True against the fabric8 mock API server (CRUD mode,
 * in this JVM), 20 nodes with room for all, and the operator's retained heap. Run with bench/operator/run.sh.
 */
public class OperatorBench {
    public static void main(String[] args) throws Exception {
        List<Integer> sizes = new ArrayList<>();
        for (String a : args) sizes.add(Integer.parseInt(a));
        if (sizes.isEmpty()) sizes = List.of(100, 1000);
        System.out.println("| VMs | create→all Scheduled (s) | VMs/s | latency p50 (ms) | p99 (ms) | operator heap (MiB) |");
        System.out.println("|---:|---:|---:|---:|---:|---:|");
        for (int n : sizes) run(n);
        System.out.println();
        System.out.println("Backlog: the VMs exist before the operator starts (its binding rate alone, not the creator's):");
        System.out.println("| VMs | operator start→all Scheduled (s) | VMs/s |");
        System.out.println("|---:|---:|---:|");
        for (int n : sizes) backlog(n);
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
            for (int i = 0; i < n; i++) {
                String name = "b" + i;
                created.put(name, System.nanoTime());
                k.create(MockCluster.vmYaml(name, "Always", 1 + i % 4, (1 + i % 4) + "Gi"));
            }
            while (scheduled.size() < n) Thread.sleep(10);
            long t1 = System.nanoTime();
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
            System.out.printf("| %d | %.2f | %.0f | %d | %d | %.1f |%n", n, secs, n / secs, lat.get(lat.size() / 2),
                    lat.get(Math.min(lat.size() - 1, (int) Math.ceil(lat.size() * 0.99) - 1)),
                    (withOperator - without) / 1048576.0);
            if (base < 0) System.out.println(base);
            if (Boolean.getBoolean("bench.requests")) {
                k.requests().forEach((what, c) -> System.out.printf("    %-32s %7d requests, %6.2f per VM, %6.0f µs each%n",
                        what, c[0], c[0] / (double) n, c[1] / 1e3 / Math.max(1, c[0])));
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
            k.startOperator(MockCluster.settings().withHeartbeatTimeout(Duration.ofMinutes(10)), VmApi::of);
            while (scheduled.size() < n) Thread.sleep(10);
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("| %d | %.2f | %.0f |%n", n, secs, n / secs);
        }
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
