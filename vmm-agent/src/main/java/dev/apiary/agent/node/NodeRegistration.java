package dev.apiary.agent.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apiary.crds.ConditionTypes;
import dev.apiary.crds.MergePatch;
import dev.apiary.crds.VmmNode;
import dev.apiary.crds.VmmNodeStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Creates or updates this node's VmmNode and keeps its heartbeat. Labels: the agent's configured ones, plus the
 * Kubernetes Node's when the agent may read it (so nodeSelector can use the usual node labels).
 */
public final class NodeRegistration {
    /** Annotation on the VmmNode: SHA-256 of the agent's TLS certificate (DER, hex), for clients to pin. */
    public static final String CERT_ANNOTATION = "apiary.dev/agent-cert-sha256";
    private static final Logger LOG = Logger.getLogger(NodeRegistration.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final KubernetesClient client;
    private final String node;
    private final Map<String, String> labels;
    private final String endpoint;
    private final String certSha256;
    private final String agentVersion;
    private final Clock clock;
    private volatile HostFacts facts;
    private final Integer capacityCpus;
    private final long reservedMemory;

    public NodeRegistration(KubernetesClient client, String node, Map<String, String> labels, String endpoint,
            String certSha256, String agentVersion, HostFacts facts, Integer capacityCpus, long reservedMemory,
            Clock clock) {
        this.client = client;
        this.node = node;
        this.labels = labels;
        this.endpoint = endpoint;
        this.certSha256 = certSha256;
        this.agentVersion = agentVersion;
        this.facts = facts;
        this.capacityCpus = capacityCpus;
        this.reservedMemory = reservedMemory;
        this.clock = clock;
    }

    public void facts(HostFacts f) {
        this.facts = f;
    }

    /**
     * Creates the VmmNode if missing, brings its labels (the Node's, plus the agent's configured ones) and
     * annotations up to date; then {@link #heartbeat}. Called on every heartbeat, so label changes on the Node
     * reach nodeSelector within one heartbeat interval; a Node label that disappears is removed again.
     */
    public void register() {
        var nodes = client.resources(VmmNode.class);
        Map<String, String> nodeLabels = kubeNodeLabels();
        Map<String, String> want = new LinkedHashMap<>(nodeLabels);
        want.putAll(labels);
        VmmNode existing = nodes.withName(node).get();
        if (existing == null) {
            VmmNode n = new VmmNode();
            n.setMetadata(new ObjectMetaBuilder().withName(node).withLabels(want)
                    .withAnnotations(certSha256 == null ? Map.of() : Map.of(CERT_ANNOTATION, certSha256)).build());
            try {
                nodes.resource(n).create();
                LOG.infof("registered VmmNode %s", node);
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) throw e;
            }
        } else {
            Map<String, String> l = new HashMap<>(Optional.ofNullable(existing.getMetadata().getLabels()).orElse(Map.of()));
            Map<String, String> a = new HashMap<>(Optional.ofNullable(existing.getMetadata().getAnnotations()).orElse(Map.of()));
            boolean change = false;
            for (String key : appliedNodeLabels) {
                if (!want.containsKey(key) && l.remove(key) != null) change = true;
            }
            for (var e : want.entrySet()) change |= !e.getValue().equals(l.put(e.getKey(), e.getValue()));
            if (certSha256 != null) change |= !certSha256.equals(a.put(CERT_ANNOTATION, certSha256));
            if (change) {
                // A merge patch of the labels and annotations that changed: the rest of the object stays as it is.
                JsonNode before = JSON.valueToTree(existing.getMetadata());
                existing.getMetadata().setLabels(l);
                existing.getMetadata().setAnnotations(a);
                ObjectNode patch = JSON.createObjectNode();
                patch.set("metadata", MergePatch.diff(before, JSON.valueToTree(existing.getMetadata())));
                nodes.resource(existing).patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
            }
        }
        appliedNodeLabels = Set.copyOf(nodeLabels.keySet());
        heartbeat();
    }

    /** Node labels this agent last copied onto the VmmNode (to remove the ones the Node loses). */
    private Set<String> appliedNodeLabels = Set.of();
    private Map<String, String> lastNodeLabels = Map.of();

    private Map<String, String> kubeNodeLabels() {
        try {
            Node n = client.nodes().withName(node).get();
            Map<String, String> l = n == null || n.getMetadata().getLabels() == null ? Map.of() : n.getMetadata().getLabels();
            lastNodeLabels = Map.copyOf(l);
            return l;
        } catch (KubernetesClientException e) {
            return lastNodeLabels; // cannot read the Node now: keep what we had
        }
    }

    /** Writes the status: capacity, KVM facts, versions, endpoint, heartbeat time and Ready=True. */
    public void heartbeat() {
        var nodes = client.resources(VmmNode.class);
        for (int attempt = 1; ; attempt++) {
            VmmNode n = nodes.withName(node).get();
            if (n == null) {
                register();
                return;
            }
            // Only the members that changed, on the version read (Ready is in a list the operator writes too):
            // fields this model does not know, from a newer operator or agent, are never sent, never erased.
            JsonNode before = JSON.valueToTree(n.getStatus());
            n.setStatus(status(n.getStatus(), facts, clock.instant().toString()));
            ObjectNode diff = MergePatch.diff(before, JSON.valueToTree(n.getStatus()));
            if (diff.isEmpty()) return;
            ObjectNode patch = JSON.createObjectNode();
            patch.putObject("metadata").put("resourceVersion", n.getMetadata().getResourceVersion());
            patch.set("status", diff);
            try {
                nodes.resource(n).subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt >= 5) throw e;
            }
        }
    }

    /** The agent's part of a VmmNode status (allocated and conditions other than Ready are the operator's). */
    VmmNodeStatus status(VmmNodeStatus current, HostFacts f, String now) {
        VmmNodeStatus s = current == null ? new VmmNodeStatus() : current;
        s.capacity = new VmmNodeStatus.Resources();
        s.capacity.cpus = capacityCpus != null ? capacityCpus : f.cpus();
        s.capacity.memory = new Quantity(Long.toString(Math.max(0, f.memoryBytes() - reservedMemory)));
        s.kvm = new VmmNodeStatus.Kvm();
        s.kvm.present = f.kvmPresent();
        s.kvm.apiVersion = f.kvmApiVersion();
        s.kvm.fullGuests = f.fullGuests();
        s.kvm.reason = f.reason();
        s.accelerators = f.accelerators() == null ? null : f.accelerators().stream()
                .map(a -> new VmmNodeStatus.AcceleratorInfo(a.name(), a.available(), a.fullGuests(), a.reason()))
                .toList();
        s.endpoint = endpoint;
        s.versions = new VmmNodeStatus.Versions();
        s.versions.agent = agentVersion;
        s.versions.vmm = agentVersion;
        s.versions.kernel = f.kernel();
        s.heartbeatTime = now;
        if (s.conditions == null) s.conditions = new ArrayList<>();
        // Ready says whether this node can run VMs now: the agent reports, and some accelerator is available
        // (before the probe has answered: /dev/kvm is there).
        String ready = f.canRunVms() ? "True" : "False";
        Optional<Condition> old = s.conditions.stream().filter(c -> ConditionTypes.READY.equals(c.getType())).findFirst();
        String since = old.filter(c -> ready.equals(c.getStatus()) && c.getLastTransitionTime() != null)
                .map(Condition::getLastTransitionTime).orElse(now);
        s.conditions.removeIf(c -> ConditionTypes.READY.equals(c.getType()));
        s.conditions.add(new ConditionBuilder().withType(ConditionTypes.READY).withStatus(ready)
                .withReason(f.canRunVms() ? "AgentReady" : "NoAccelerator")
                .withMessage(f.canRunVms() ? "vmm-agent " + agentVersion + " reporting" + offered(f)
                        : "vmm-agent reporting, but this node cannot run VMs: " + missing(f))
                .withLastTransitionTime(since).build());
        return s;
    }

    /** "; accelerators: KVM, Emulated" once the probe has answered. */
    private static String offered(HostFacts f) {
        if (f.accelerators() == null) return "";
        return "; accelerators: " + f.accelerators().stream().filter(AcceleratorVerdict::available)
                .map(AcceleratorVerdict::name).collect(Collectors.joining(", "));
    }

    /** Why no accelerator can run VMs: each one's reason, or that /dev/kvm is missing and the probe has not said. */
    private static String missing(HostFacts f) {
        if (f.accelerators() == null) {
            return "/dev/kvm is missing and vmm doctor has not reported other accelerators (" + f.reason() + ")";
        }
        if (f.accelerators().isEmpty()) return "vmm doctor reported no accelerator";
        return f.accelerators().stream().map(a -> a.name() + ": " + a.reason()).collect(Collectors.joining("; "));
    }

    public String node() {
        return node;
    }

    public boolean hasCert(String sha) {
        return Objects.equals(certSha256, sha);
    }
}
