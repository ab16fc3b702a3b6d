package dev.apiary.operator.it;

import static dev.apiary.operator.it.MockCluster.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmPhase;
import dev.apiary.operator.scheduling.Quantities;
import dev.apiary.operator.vm.VmApi;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** 500 VMs of mixed sizes across 20 nodes that cannot hold them all: no overbooking, no VM bound twice. */
class ScaleIT {
    static final int NODES = 20;
    static final int VMS = 500;
    static final int NODE_CPUS = 48;
    static final long NODE_MEM = 96L << 30;

    @Test
    void fiveHundredVmsOnTwentyNodes() {
        try (MockCluster k = new MockCluster()) {
            for (int i = 0; i < NODES; i++) k.agent("node-" + i, NODE_CPUS, "96Gi", Map.of("rack", "r" + (i % 4)));
            Map<String, List<String>> bindings = new ConcurrentHashMap<>();
            k.client.resources(VirtualMachine.class).inNamespace("default").watch(new Watcher<>() {
                @Override
                public void eventReceived(Action action, VirtualMachine vm) {
                    String node = vm.getStatus() == null ? null : vm.getStatus().nodeName;
                    List<String> seen = bindings.computeIfAbsent(vm.getMetadata().getName(), n -> new CopyOnWriteArrayList<>());
                    if (node != null && (seen.isEmpty() || !seen.get(seen.size() - 1).equals(node))) seen.add(node);
                }

                @Override
                public void onClose(WatcherException cause) {}
            });
            k.startOperator(settings().withHeartbeatTimeout(Duration.ofMinutes(5)), VmApi::of);
            long t0 = System.nanoTime();
            for (int i = 0; i < VMS; i++) {
                int cpus = 1 + i % 3;
                String mem = (1 + i % 4) + "Gi";
                String yaml = vmYaml("s" + i, "Always", cpus, mem);
                if (i % 10 == 0) yaml = yaml.replace("  boot:", "  nodeSelector: {rack: r1}\n  boot:");
                k.create(yaml);
            }
            List<VirtualMachine> all = await("every VM decided", () -> k.client.resources(VirtualMachine.class)
                    .inNamespace("default").list().getItems(), l -> l.size() == VMS && l.stream().allMatch(
                            v -> v.getStatus() != null && (v.getStatus().nodeName != null
                                    || v.getStatus().phase == VmPhase.Pending && condition(v, "Scheduled").isPresent())),
                    Duration.ofSeconds(120));
            double secs = (System.nanoTime() - t0) / 1e9;

            Map<String, long[]> used = new HashMap<>();
            int bound = 0;
            for (VirtualMachine v : all) {
                String n = v.getStatus().nodeName;
                if (n == null) continue;
                bound++;
                long[] u = used.computeIfAbsent(n, x -> new long[2]);
                u[0] += v.getSpec().cpus;
                u[1] += Quantities.bytes(v.getSpec().memory);
                if (v.getSpec().nodeSelector.containsKey("rack")) {
                    assertEquals("r1", k.node(n).getMetadata().getLabels().get("rack"), v.getMetadata().getName());
                }
            }
            for (var e : used.entrySet()) {
                assertTrue(e.getValue()[0] <= NODE_CPUS, e.getKey() + " CPUs " + e.getValue()[0]);
                assertTrue(e.getValue()[1] <= NODE_MEM, e.getKey() + " memory " + e.getValue()[1]);
            }
            // The VMs left pending really fit nowhere.
            for (VirtualMachine v : all) {
                if (v.getStatus().nodeName != null) continue;
                assertEquals("Unschedulable", condition(v, "Scheduled").orElseThrow().getReason());
                for (int i = 0; i < NODES; i++) {
                    long[] u = used.getOrDefault("node-" + i, new long[2]);
                    boolean labels = !v.getSpec().nodeSelector.containsKey("rack") || i % 4 == 1;
                    assertFalse(labels && u[0] + v.getSpec().cpus <= NODE_CPUS
                            && u[1] + Quantities.bytes(v.getSpec().memory) <= NODE_MEM,
                            v.getMetadata().getName() + " would fit on node-" + i);
                }
            }
            await("watch caught up", () -> bindings.values().stream().filter(l -> !l.isEmpty()).count(),
                    n -> n >= 1);
            for (var e : bindings.entrySet()) {
                assertTrue(e.getValue().size() <= 1, e.getKey() + " bound more than once: " + e.getValue());
            }
            assertTrue(bound > 400, "bound " + bound);
            assertTrue(bound < VMS, "the cluster is too small for all: some must wait");
            System.out.printf("SCALE %d VMs, %d bound, %d pending, %.1f s, %.0f VMs/s%n", VMS, bound, VMS - bound,
                    secs, VMS / secs);
        }
    }
}
