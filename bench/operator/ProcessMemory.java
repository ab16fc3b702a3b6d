import dev.apiary.crds.VirtualMachine;
import dev.apiary.operator.it.MockCluster;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The packaged operator (operator/target/quarkus-app) as its own process against a mock API server in this JVM:
 * waits for /q/health/ready, creates N VMs, waits until all are Scheduled, then reports the operator process's
 * RSS, its heap after the work (from /q/metrics) and a sample of its metrics. Run with bench/operator/run.sh --process.
 */
public class ProcessMemory {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        try (MockCluster k = new MockCluster()) {
            for (int i = 0; i < 20; i++) k.agent("node-" + i, 256, "1Ti", Map.of());
            String url = k.client.getConfiguration().getMasterUrl();
            Process p = new ProcessBuilder("java", "-Xmx256m",
                    "-Dquarkus.kubernetes-client.api-server-url=" + url,
                    "-Dquarkus.kubernetes-client.trust-certs=true",
                    "-Dquarkus.kubernetes-client.namespace=default",
                    "-Dquarkus.http.port=18080", "-Dquarkus.log.level=WARN",
                    "-Dapiary.operator.leader-election.namespace=default",
                    "-Dapiary.operator.heartbeat-timeout=10m",
                    "-jar", "operator/target/quarkus-app/quarkus-run.jar")
                    .redirectErrorStream(true).redirectOutput(new File("operator/target/bench-operator.log")).start();
            HttpClient http = HttpClient.newHttpClient();
            try {
                long t0 = System.nanoTime();
                while (!get(http, "/q/health/ready").contains("\"UP\"")) {
                    if (!p.isAlive()) throw new IllegalStateException("operator exited; see operator/target/bench-operator.log");
                    Thread.sleep(200);
                }
                System.out.printf("operator ready (leading) after %.1f s; RSS %d MiB%n", (System.nanoTime() - t0) / 1e9,
                        rssMiB(p.pid()));
                long t1 = System.nanoTime();
                for (int i = 0; i < n; i++) k.create(MockCluster.vmYaml("p" + i, "Always", 1 + i % 4, (1 + i % 4) + "Gi"));
                while (k.client.resources(VirtualMachine.class).inNamespace("default").list().getItems().stream()
                        .filter(v -> MockCluster.condition(v, "Scheduled").map(c -> "True".equals(c.getStatus())).orElse(false))
                        .count() < n) Thread.sleep(500);
                double secs = (System.nanoTime() - t1) / 1e9;
                String metrics = get(http, "/q/metrics");
                System.out.printf("%d VMs scheduled in %.1f s (%.0f VMs/s, separate process); operator RSS %d MiB%n", n, secs,
                        n / secs, rssMiB(p.pid()));
                metrics.lines().filter(l -> l.startsWith("jvm_memory_used_bytes{area=\"heap\"")
                        || l.startsWith("apiary_operator_vms{") && !l.endsWith(" 0.0")
                        || l.startsWith("apiary_operator_reconciles_total") || l.startsWith("apiary_operator_leader")
                        || l.startsWith("apiary_operator_scheduling_total")).forEach(System.out::println);
            } finally {
                p.destroy();
                p.waitFor();
            }
        }
        System.exit(0);
    }

    static String get(HttpClient http, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://localhost:18080" + path)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }

    static long rssMiB(long pid) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("\\D", "")) / 1024;
        }
        return -1;
    }
}
