package dev.apiary.kubectlvm;

import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VirtualMachineSpec.LifecycleAction;
import dev.apiary.crds.VirtualMachineStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code kubectl vm}: the Apiary kubectl plugin. Every failure is one line on stderr and exit status 1. */
@Command(name = "kubectl vm", mixinStandardHelpOptions = true, version = "kubectl-vm 0.1.0",
        description = "Start, stop and reach Apiary VirtualMachines.",
        subcommands = {KubectlVm.Start.class, KubectlVm.Stop.class, KubectlVm.Restart.class, KubectlVm.ListVms.class,
                LogsCommand.class, ConsoleCommand.class, VncCommand.class, ScreenshotCommand.class})
public final class KubectlVm implements Callable<Integer> {
    @Option(names = {"-n", "--namespace"}, description = "namespace (default: the kubeconfig context's)", scope = CommandLine.ScopeType.INHERIT)
    String namespace;
    @Option(names = "--context", description = "kubeconfig context", scope = CommandLine.ScopeType.INHERIT)
    String context;
    @Option(names = "--token", description = "bearer token for the agent (default: the kubeconfig's, or $APIARY_TOKEN)",
            scope = CommandLine.ScopeType.INHERIT)
    String token;
    @Option(names = "--certificate-authority", description = "CA file for the agent's certificate",
            scope = CommandLine.ScopeType.INHERIT)
    Path ca;
    @Option(names = "--insecure-skip-tls-verify", description = "do not check the agent's certificate",
            scope = CommandLine.ScopeType.INHERIT)
    boolean insecure;
    @Option(names = {"-v", "--verbose"}, description = "show the client libraries' warnings (quiet by default)",
            scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    final Supplier<KubernetesClient> clients;
    final PrintStream out;
    final PrintStream err;
    private KubernetesClient client;

    public KubectlVm(Supplier<KubernetesClient> clients, PrintStream out, PrintStream err) {
        this.clients = clients;
        this.out = out;
        this.err = err;
    }

    /** slf4j-simple's level property; read once, when the first logger is made, so it is set before anything logs. */
    static final String LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    public static void main(String[] args) {
        if (System.getProperty(LOG_LEVEL) == null) System.setProperty(LOG_LEVEL, logLevel(args));
        System.exit(run(args, null, System.out, System.err));
    }

    /** The client libraries' log level: off, so every message is the plugin's one line; warnings with -v. */
    static String logLevel(String[] args) {
        for (String a : args) {
            if (a.equals("--")) break;
            if (a.equals("-v") || a.equals("--verbose")) return "warn";
        }
        return "off";
    }

    /**
     * Why there is no cluster to talk to, as kubectl says it, or null: no {@code KUBECONFIG}, no
     * {@code ~/.kube/config}, and not in a pod (fabric8 would otherwise try https://kubernetes.default.svc and
     * report that it cannot reach it, which hides the real problem).
     */
    static String noKubeconfig(Map<String, String> env, Path home) {
        String kc = env.get("KUBECONFIG");
        if (kc != null && !kc.isBlank()) return null;
        if (home != null && Files.exists(home.resolve(".kube/config"))) return null;
        if (env.get("KUBERNETES_SERVICE_HOST") != null
                && Files.exists(Path.of("/var/run/secrets/kubernetes.io/serviceaccount/token"))) {
            return null;
        }
        return "no kubeconfig found: set KUBECONFIG or create ~/.kube/config";
    }

    /** Runs the plugin; {@code clients} null: from the user's kubeconfig (KUBECONFIG, ~/.kube/config, in-cluster). */
    public static int run(String[] args, Supplier<KubernetesClient> clients, PrintStream out, PrintStream err) {
        KubectlVm[] self = new KubectlVm[1];
        Supplier<KubernetesClient> factory = clients != null ? clients : () -> {
            String none = System.getProperty("kubeconfig") != null ? null
                    : noKubeconfig(System.getenv(), Path.of(System.getProperty("user.home")));
            if (none != null) throw new PluginException(none);
            Config c = self[0].context == null ? Config.autoConfigure(null) : Config.autoConfigure(self[0].context);
            return new KubernetesClientBuilder().withConfig(new ConfigBuilder(c).build()).build();
        };
        self[0] = new KubectlVm(factory, out, err);
        CommandLine cl = new CommandLine(self[0]);
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(err, true));
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            err.println("error: " + message(e));
            return 1;
        });
        try {
            return cl.execute(args);
        } finally {
            if (self[0].client != null) self[0].client.close();
        }
    }

    static String message(Exception e) {
        if (e instanceof PluginException) return e.getMessage();
        if (e instanceof KubernetesClientException k) {
            if (k.getCode() == 403) return "forbidden: " + statusMessage(k);
            if (k.getCode() == 401) return "the API server did not accept your credentials";
            if (k.getCode() == 0 || k.getCause() instanceof java.io.IOException) {
                return "cannot reach the API server: " + (k.getCause() != null ? k.getCause().getMessage() : k.getMessage());
            }
            return "the API server said " + k.getCode() + ": " + statusMessage(k);
        }
        return e.toString();
    }

    private static String statusMessage(KubernetesClientException k) {
        return k.getStatus() != null && k.getStatus().getMessage() != null ? k.getStatus().getMessage() : k.getMessage();
    }

    @Override
    public Integer call() {
        new CommandLine(this).usage(out);
        return 0;
    }

    KubernetesClient client() {
        if (client == null) client = clients.get();
        return client;
    }

    String ns() {
        if (namespace != null) return namespace;
        String n = client().getNamespace();
        return n == null ? "default" : n;
    }

    AgentConnection agent(String name) {
        String t = token;
        if (t == null) t = System.getenv("APIARY_TOKEN");
        if (t == null) t = client().getConfiguration().getOauthToken();
        if (t == null && client().getConfiguration().getOauthTokenProvider() != null) {
            t = client().getConfiguration().getOauthTokenProvider().getToken();
        }
        if (t == null) t = client().getConfiguration().getAutoOAuthToken();
        return AgentConnection.to(client(), ns(), name, t, new AgentConnection.TlsChoice(ca, insecure));
    }

    static VirtualMachine getVm(KubernetesClient client, String namespace, String name) {
        VirtualMachine vm = client.resources(VirtualMachine.class).inNamespace(namespace).withName(name).get();
        if (vm == null) throw new PluginException("virtualmachine \"" + name + "\" not found in namespace " + namespace);
        return vm;
    }

    /** start / stop / restart: a lifecycleRequest with a new id, then the operator's answer (up to 10 s). */
    abstract static class Lifecycle implements Callable<Integer> {
        @ParentCommand
        KubectlVm top;
        @Parameters(paramLabel = "NAME")
        String name;
        @Option(names = "--wait", description = "seconds to wait for the operator's answer (0: do not wait)")
        int wait = 10;

        abstract LifecycleAction action();

        @Override
        public Integer call() throws Exception {
            KubernetesClient c = top.client();
            String ns = top.ns();
            getVm(c, ns, name);
            String id = Long.toString(System.currentTimeMillis());
            String patch = "{\"spec\":{\"lifecycleRequest\":{\"action\":\"" + action() + "\",\"id\":\"" + id + "\"}}}";
            c.resources(VirtualMachine.class).inNamespace(ns).withName(name)
                    .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
            Instant until = Instant.now().plusSeconds(wait);
            while (Instant.now().isBefore(until)) {
                VirtualMachine vm = getVm(c, ns, name);
                VirtualMachineStatus.RequestResult r = vm.getStatus() == null ? null : vm.getStatus().lastRequest;
                if (r != null && id.equals(r.id)) {
                    if ("Refused".equals(r.result)) throw new PluginException(action() + " refused: " + r.message);
                    top.out.println("virtualmachine/" + name + ": " + action().name().toLowerCase() + " "
                            + r.result.toLowerCase());
                    return 0;
                }
                Thread.sleep(100);
            }
            top.out.println("virtualmachine/" + name + ": " + action().name().toLowerCase() + " requested (id " + id
                    + ")" + (wait > 0 ? "; the operator has not answered yet" : ""));
            return 0;
        }
    }

    @Command(name = "start", description = "Start a stopped VM.")
    static final class Start extends Lifecycle {
        LifecycleAction action() {
            return LifecycleAction.Start;
        }
    }

    @Command(name = "stop", description = "Stop a VM (ACPI power button, then a hard stop after its grace period).")
    static final class Stop extends Lifecycle {
        LifecycleAction action() {
            return LifecycleAction.Stop;
        }
    }

    @Command(name = "restart", description = "Stop a VM and start it again on the same node.")
    static final class Restart extends Lifecycle {
        LifecycleAction action() {
            return LifecycleAction.Restart;
        }
    }

    @Command(name = "list", aliases = "ls",
            description = "List VMs with their phase, node, accelerator, pid and boot time.")
    static final class ListVms implements Callable<Integer> {
        @ParentCommand
        KubectlVm top;
        @Option(names = {"-A", "--all-namespaces"})
        boolean all;

        @Override
        public Integer call() {
            var res = top.client().resources(VirtualMachine.class);
            List<VirtualMachine> vms = all ? res.inAnyNamespace().list().getItems()
                    : res.inNamespace(top.ns()).list().getItems();
            top.out.print(table(vms, all, Instant.now()));
            if (vms.isEmpty()) top.err.println("No VirtualMachines found" + (all ? "." : " in namespace " + top.ns() + "."));
            return 0;
        }
    }

    static String table(List<VirtualMachine> vms, boolean withNamespace, Instant now) {
        if (vms.isEmpty()) return "";
        StringBuilder b = new StringBuilder();
        String fmt = (withNamespace ? "%-16s " : "%s") + "%-20s %-10s %-14s %-6s %-9s %-8s %-9s %s%n";
        b.append(String.format(fmt, withNamespace ? "NAMESPACE" : "", "NAME", "PHASE", "NODE", "READY", "ACCEL", "PID",
                "BOOT", "AGE"));
        for (VirtualMachine vm : vms) {
            VirtualMachineStatus s = vm.getStatus();
            String ready = s == null ? "" : s.conditions.stream().filter(c -> "Ready".equals(c.getType()))
                    .map(Condition::getStatus).findFirst().orElse("");
            b.append(String.format(fmt, withNamespace ? vm.getMetadata().getNamespace() : "", vm.getMetadata().getName(),
                    s == null || s.phase == null ? "" : s.phase, s == null || s.nodeName == null ? "" : s.nodeName, ready,
                    s == null || s.accelerator == null ? "" : s.accelerator,
                    s == null || s.vmm == null || s.vmm.pid == null ? "" : s.vmm.pid,
                    s == null || s.vmm == null || s.vmm.bootMillis == null ? "" : s.vmm.bootMillis + "ms",
                    age(vm.getMetadata().getCreationTimestamp(), now)));
        }
        return b.toString();
    }

    static String age(String created, Instant now) {
        if (created == null) return "";
        Duration d = Duration.between(Instant.parse(created), now);
        if (d.toDays() > 0) return d.toDays() + "d";
        if (d.toHours() > 0) return d.toHours() + "h";
        if (d.toMinutes() > 0) return d.toMinutes() + "m";
        return Math.max(0, d.toSeconds()) + "s";
    }
}
