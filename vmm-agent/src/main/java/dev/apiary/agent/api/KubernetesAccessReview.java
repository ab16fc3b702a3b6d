package dev.apiary.agent.api;

import dev.apiary.crds.VirtualMachine;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * TokenReview and SubjectAccessReview against the API server, as the kubelet does for its own API, with answers
 * reused for a short while (positive and negative alike: a revoked token or binding takes effect within the TTL).
 * Tokens are kept only as SHA-256 digests.
 */
public final class KubernetesAccessReview implements AccessReview {
    private final KubernetesClient client;
    private final Duration ttl;
    private final Clock clock;
    private final Map<String, Cached<User>> users = new ConcurrentHashMap<>();
    private final Map<String, Cached<Boolean>> decisions = new ConcurrentHashMap<>();

    private record Cached<T>(T value, long until) {}

    public KubernetesAccessReview(KubernetesClient client, Duration ttl, Clock clock) {
        this.client = client;
        this.ttl = ttl;
        this.clock = clock;
    }

    @Override
    public User authenticate(String token) {
        String key = sha256(token);
        Cached<User> c = users.get(key);
        if (c != null && c.until > clock.millis()) return c.value;
        TokenReview review;
        try {
            review = client.resource(new TokenReviewBuilder().withNewSpec().withToken(token).endSpec().build()).create();
        } catch (KubernetesClientException e) {
            throw new ReviewUnavailable("cannot check the token (TokenReview: " + e.getMessage() + ")", e);
        }
        User u = null;
        var st = review == null ? null : review.getStatus();
        if (st != null && Boolean.TRUE.equals(st.getAuthenticated()) && st.getUser() != null) {
            u = new User(st.getUser().getUsername(), st.getUser().getUid(),
                    st.getUser().getGroups() == null ? List.of() : List.copyOf(st.getUser().getGroups()));
        }
        if (users.size() > 10_000) users.clear();
        users.put(key, new Cached<>(u, clock.millis() + ttl.toMillis()));
        return u;
    }

    @Override
    public boolean allowed(User user, String verb, String namespace, String name) {
        String key = user.name() + "\0" + String.join(",", user.groups()) + "\0" + verb + "\0" + namespace + "\0" + name;
        Cached<Boolean> c = decisions.get(key);
        if (c != null && c.until > clock.millis()) return c.value;
        SubjectAccessReview sar = new SubjectAccessReviewBuilder().withNewSpec()
                .withUser(user.name()).withUid(user.uid()).withGroups(user.groups())
                .withNewResourceAttributes().withGroup(VirtualMachine.GROUP).withResource("virtualmachines")
                .withVerb(verb).withNamespace(namespace).withName(name).endResourceAttributes()
                .endSpec().build();
        SubjectAccessReview answer;
        try {
            answer = client.resource(sar).create();
        } catch (KubernetesClientException e) {
            throw new ReviewUnavailable("cannot check permissions (SubjectAccessReview: " + e.getMessage() + ")", e);
        }
        boolean ok = answer != null && answer.getStatus() != null && Boolean.TRUE.equals(answer.getStatus().getAllowed());
        if (decisions.size() > 10_000) decisions.clear();
        decisions.put(key, new Cached<>(ok, clock.millis() + ttl.toMillis()));
        return ok;
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
