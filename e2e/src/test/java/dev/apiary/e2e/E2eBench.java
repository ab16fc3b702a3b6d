package dev.apiary.e2e;

import static dev.apiary.agent.it.MockApiServer.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmPhase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bench/e2e: apply-to-Running latency for 1 and 10 VMs on one node (mock API server, operator, agent, real VMMs),
 * and the resident memory of an idle VMM beyond its guest RAM. Not part of the normal build (the name matches no
 * surefire pattern); bench/e2e/run.sh runs it. Writes e2e/target/bench-e2e.txt.
 */
class E2eBench {
    static final long T = 180_000;
    @TempDir
    Path tmp;

    @Test
    void applyToRunning() throws Exception {
        Path root = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath().normalize();
        String why = Cluster.unusableReason(root);
        assumeTrue(why == null, () -> "skipped: " + why);
        int rounds1 = Integer.getInteger("bench.rounds1", 10);
        int rounds10 = Integer.getInteger("bench.rounds10", 2);
        StringBuilder report = new StringBuilder();
        try (Cluster c = new Cluster(tmp)) {
            c.startOperator();
            c.startAgent();
            await("VmmNode", () -> c.api.client.resources(dev.apiary.crds.VmmNode.class).withName(Cluster.NODE).get(),
                    n -> n != null && n.getStatus() != null && n.getStatus().heartbeatTime != null, T);
            // Warm-up: the first VMM start pays for cold page cache and JIT in the agent and operator.
            round(c, 1, "warm");

            List<Long> one = new ArrayList<>();
            List<Long> boot1 = new ArrayList<>();
            List<Long> launch1 = new ArrayList<>();
            for (int i = 0; i < rounds1; i++) {
                Result r = round(c, 1, "one" + i);
                one.addAll(r.latencies);
                boot1.addAll(r.boots);
                launch1.addAll(r.launches);
            }
            List<Long> ten = new ArrayList<>();
            List<Long> boot10 = new ArrayList<>();
            List<Long> launch10 = new ArrayList<>();
            for (int i = 0; i < rounds10; i++) {
                Result r = round(c, 10, "ten" + i);
                ten.addAll(r.latencies);
                boot10.addAll(r.boots);
                launch10.addAll(r.launches);
            }

            // Memory of one idle VMM.
            c.apply(Cluster.vmYaml("idle", "Always"));
            VirtualMachine vm = await("idle Running", () -> c.vm("idle"), v -> v.getStatus() != null
                    && v.getStatus().phase == VmPhase.Running, T);
            Thread.sleep(5000);
            long pid = vm.getStatus().vmm.pid;
            long guestBytes = 64L << 20;
            long[] m = rss(pid, guestBytes);
            delete(c, List.of("idle"));

            report.append(String.format("apply-to-Running, 1 VM at a time (%d runs): p50 %d ms, p95 %d ms; apply to VMM"
                    + " launch p50 %d ms; VMM bootMillis p50 %d ms%n", one.size(), pct(one, 50), pct(one, 95),
                    pct(launch1, 50), pct(boot1, 50)));
            report.append(String.format("apply-to-Running, 10 VMs at once (%d rounds, %d VMs): p50 %d ms, p95 %d ms;"
                    + " apply to VMM launch p50 %d ms; VMM bootMillis p50 %d ms%n", rounds10, ten.size(),
                    pct(ten, 50), pct(ten, 95), pct(launch10, 50), pct(boot10, 50)));
            report.append(String.format("idle VMM (64 MiB guest, 1 vCPU, after 5 s): RSS %d MiB, of which guest RAM %d"
                    + " KiB; beyond guest RAM %d MiB%n", m[0] >> 20, m[1] >> 10, (m[0] - m[1]) >> 20));
        }
        System.out.print(report);
        Files.writeString(Path.of("target/bench-e2e.txt"), report.toString());
    }

    /** latencies: apply → Running; boots: the VMM's bootMillis; launches: apply → the agent exec's the VMM (operator + agent). */
    record Result(List<Long> latencies, List<Long> boots, List<Long> launches) {}

    /** Applies n VMs at once; each one's latency is from its create call to the first status that says Running. */
    static Result round(Cluster c, int n, String prefix) throws Exception {
        Map<String, Long> applied = new ConcurrentHashMap<>();
        Map<String, Long> running = new ConcurrentHashMap<>();
        Map<String, Long> boots = new ConcurrentHashMap<>();
        Map<String, Long> appliedAt = new ConcurrentHashMap<>();
        Map<String, Long> launched = new ConcurrentHashMap<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) names.add(prefix + "-" + i);
        var watch = c.api.client.resources(VirtualMachine.class).inNamespace("default").watch(
                new io.fabric8.kubernetes.client.Watcher<>() {
                    public void eventReceived(Action a, VirtualMachine vm) {
                        String name = vm.getMetadata().getName();
                        if (vm.getStatus() != null && vm.getStatus().phase == VmPhase.Running
                                && applied.containsKey(name)) {
                            running.putIfAbsent(name, System.nanoTime());
                            // When the agent exec'd the VMM (agent.json; the VMM's own startedAt comes from the
                            // kernel's process start time, which Java derives from whole-second btime).
                            try {
                                var id = new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.work.resolve("run")
                                        .resolve(vm.getMetadata().getUid()).resolve("agent.json").toFile());
                                launched.putIfAbsent(name, java.time.Instant.parse(id.get("launchedAt").asText())
                                        .toEpochMilli() - appliedAt.get(name));
                            } catch (IOException | RuntimeException e) {
                                // not readable now: this VM has no control-plane figure
                            }
                            if (vm.getStatus().vmm != null && vm.getStatus().vmm.bootMillis != null) {
                                boots.putIfAbsent(name, vm.getStatus().vmm.bootMillis);
                            }
                        }
                    }

                    public void onClose(io.fabric8.kubernetes.client.WatcherException e) {}
                });
        try {
            for (String name : names) {
                appliedAt.put(name, System.currentTimeMillis());
                applied.put(name, System.nanoTime());
                c.apply(Cluster.vmYaml(name, "Always"));
            }
            await(n + " Running", running::size, s -> s == n, T);
            // bootMillis may land in a later status write than phase Running.
            await("boot times", () -> names.stream().allMatch(x -> boots.containsKey(x) || bootOf(c, x, boots)),
                    b -> b, 30_000);
        } finally {
            watch.close();
        }
        List<Long> lat = new ArrayList<>();
        for (String name : names) lat.add((running.get(name) - applied.get(name)) / 1_000_000);
        delete(c, names);
        return new Result(lat, new ArrayList<>(boots.values()), new ArrayList<>(launched.values()));
    }

    static boolean bootOf(Cluster c, String name, Map<String, Long> boots) {
        VirtualMachine vm = c.vm(name);
        if (vm != null && vm.getStatus() != null && vm.getStatus().vmm != null && vm.getStatus().vmm.bootMillis != null) {
            boots.put(name, vm.getStatus().vmm.bootMillis);
            return true;
        }
        return false;
    }

    static void delete(Cluster c, List<String> names) {
        for (String name : names) c.api.client.resources(VirtualMachine.class).inNamespace("default").withName(name).delete();
        for (String name : names) await(name + " gone", () -> c.vm(name), v -> v == null, T);
    }

    static long pct(List<Long> xs, int p) {
        List<Long> s = new ArrayList<>(xs);
        Collections.sort(s);
        int i = (int) Math.ceil(p / 100.0 * s.size()) - 1;
        return s.get(Math.max(0, Math.min(i, s.size() - 1)));
    }

    /** {total RSS, RSS of the guest RAM mapping} in bytes, from /proc/PID/smaps. */
    static long[] rss(long pid, long guestBytes) throws IOException {
        long total = 0;
        long guest = 0;
        long size = -1;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps"))) {
            if (line.startsWith("Size:")) size = kb(line);
            else if (line.startsWith("Rss:")) {
                long r = kb(line);
                total += r;
                if (size == guestBytes) guest += r;
            }
        }
        return new long[] {total, guest};
    }

    static long kb(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    }
}
