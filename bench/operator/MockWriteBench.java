import dev.apiary.crds.VirtualMachine;
import dev.apiary.operator.it.MockCluster;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The fabric8 mock API server's own write rate, without the operator: how many VM status merge patches per second
 * it answers with VMS VirtualMachines and as many Events stored (as at the end of a 1000-VM OperatorBench run), 20
 * VmmNodes, two VM watches open (the operator's informer and the benchmark's watcher) and WRITERS client threads
 * writing at once (the operator's writer pool). Divided by the writes the operator makes per VM, it is the ceiling
 * the mock puts on OperatorBench's VMs/s. Run with bench/operator/run.sh --mock [VMS...].
 */
public class MockWriteBench {
    static final int WRITERS = 8;
    static final int WRITES = 2000;

    public static void main(String[] args) throws Exception {
        List<Integer> sizes = new ArrayList<>();
        for (String a : args) sizes.add(Integer.parseInt(a));
        if (sizes.isEmpty()) sizes = List.of(0, 1000);
        System.out.println("| VMs + Events stored | status patches/s | µs per patch (client) | write lock held per patch (µs) |");
        System.out.println("|---:|---:|---:|---:|");
        run(sizes.get(0), false); // a whole run first, for the JIT: the first size measured would pay for it otherwise
        for (int n : sizes) run(n, true);
        System.exit(0);
    }

    static void run(int stored, boolean print) throws Exception {
        try (MockCluster k = new MockCluster()) {
            for (int i = 0; i < 20; i++) k.agent("node-" + i, 256, "1Ti", Map.of());
            int vms = Math.max(stored, WRITERS * 8);
            List<VirtualMachine> created = new ArrayList<>();
            for (int i = 0; i < vms; i++) {
                created.add(k.create(MockCluster.vmYaml("w" + i, "Always", 1, "1Gi")));
                if (i < stored) {
                    k.client.v1().events().inNamespace("default").resource(new EventBuilder().withNewMetadata()
                            .withName("w" + i + ".scheduled").endMetadata().withReason("Scheduled")
                            .withNewInvolvedObject().withKind("VirtualMachine").withName("w" + i).endInvolvedObject()
                            .build()).create();
                }
            }
            for (int w = 0; w < 2; w++) {
                k.client.resources(VirtualMachine.class).inAnyNamespace().watch(new Watcher<>() {
                    public void eventReceived(Action action, VirtualMachine vm) {}

                    public void onClose(WatcherException e) {}
                });
            }
            var ops = k.client.resources(VirtualMachine.class).inNamespace("default");
            ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
            // Warm-up, then the measured writes; each thread owns every WRITERS-th VM and knows its resourceVersion
            // from its own last answer, so no read and no conflict is measured, only writes.
            for (int round = 0; round < 2; round++) {
                int writes = round == 0 ? WRITES / 4 : WRITES;
                long busy0 = k.writeBusyNanos();
                long t0 = System.nanoTime();
                List<Future<Long>> done = new ArrayList<>();
                for (int t = 0; t < WRITERS; t++) {
                    int first = t;
                    done.add(pool.submit(() -> {
                        long clientNanos = 0;
                        for (int i = 0; i < writes / WRITERS; i++) {
                            int idx = first + WRITERS * (i % (vms / WRITERS));
                            VirtualMachine vm = created.get(idx);
                            String patch = "{\"metadata\":{\"resourceVersion\":\"" + vm.getMetadata().getResourceVersion()
                                    + "\"},\"status\":{\"nodeName\":\"node-" + (i % 20) + "\",\"phase\":\"Scheduled\"}}";
                            long s = System.nanoTime();
                            VirtualMachine after = ops.resource(vm).subresource("status")
                                    .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
                            clientNanos += System.nanoTime() - s;
                            created.set(idx, after);
                        }
                        return clientNanos;
                    }));
                }
                long clientNanos = 0;
                for (Future<Long> f : done) clientNanos += f.get();
                long t1 = System.nanoTime();
                if (round == 1 && print) {
                    System.out.printf("| %d + %d | %.0f | %.0f | %.0f |%n", stored, stored, writes / ((t1 - t0) / 1e9),
                            clientNanos / 1e3 / writes, (k.writeBusyNanos() - busy0) / 1e3 / writes);
                }
            }
            pool.shutdownNow();
        }
    }
}
