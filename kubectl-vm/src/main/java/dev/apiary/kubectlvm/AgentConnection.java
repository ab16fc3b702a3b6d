package dev.apiary.kubectlvm;

import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmmNode;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * How to reach the agent that runs a VM: its endpoint from the VM's status (or its VmmNode), the user's bearer token
 * from the kubeconfig, and trust in the agent's certificate — pinned to the SHA-256 its VmmNode publishes (read
 * through the API server, which the user already trusts), else a CA file, else the system's trust store.
 */
public final class AgentConnection {
    /** The VmmNode annotation with the agent certificate's SHA-256 (written by the agent). */
    public static final String CERT_ANNOTATION = "apiary.dev/agent-cert-sha256";
    public final VirtualMachine vm;
    public final String node;
    public final String endpoint;
    public final String token;
    public final HttpClient http;

    public record TlsChoice(Path caFile, boolean insecure) {}

    private AgentConnection(VirtualMachine vm, String node, String endpoint, String token, HttpClient http) {
        this.vm = vm;
        this.node = node;
        this.endpoint = endpoint;
        this.token = token;
        this.http = http;
    }

    /** The VM namespace/name and its agent; fails with one clear line for each way this can go wrong. */
    public static AgentConnection to(KubernetesClient client, String namespace, String name, String token,
            TlsChoice tls) {
        VirtualMachine vm = KubectlVm.getVm(client, namespace, name);
        var st = vm.getStatus();
        if (st == null || st.nodeName == null) {
            String why = st == null || st.phase == null ? "" : " (phase " + st.phase + ")";
            throw new PluginException("VM " + name + " is not scheduled to a node" + why);
        }
        String endpoint = st.agent != null ? st.agent.endpoint : null;
        String pin = null;
        try {
            VmmNode n = client.resources(VmmNode.class).withName(st.nodeName).get();
            if (n != null) {
                if (endpoint == null && n.getStatus() != null) endpoint = n.getStatus().endpoint;
                Map<String, String> a = n.getMetadata().getAnnotations();
                pin = a == null ? null : a.get(CERT_ANNOTATION);
            }
        } catch (KubernetesClientException e) {
            // No read access to VmmNodes: fall back to the CA file or the system trust store.
        }
        if (endpoint == null) {
            throw new PluginException("the agent of node " + st.nodeName + " has not published its endpoint (is it"
                    + " running?)");
        }
        if (token == null || token.isBlank()) {
            throw new PluginException("no bearer token in your kubeconfig (the agent checks tokens with TokenReview;"
                    + " client certificates are not enough): pass --token or set APIARY_TOKEN");
        }
        return new AgentConnection(vm, st.nodeName, endpoint, token, httpClient(pin, tls));
    }

    static HttpClient httpClient(String pin, TlsChoice tls) {
        try {
            SSLContext ssl = SSLContext.getInstance("TLS");
            TrustManager tm;
            if (tls.insecure()) {
                tm = new Pinned(null, null);
            } else if (tls.caFile() != null) {
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                try (InputStream in = Files.newInputStream(tls.caFile())) {
                    int i = 0;
                    for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                        ks.setCertificateEntry("ca" + i++, c);
                    }
                }
                TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                f.init(ks);
                tm = f.getTrustManagers()[0];
            } else if (pin != null) {
                tm = new Pinned(pin, null);
            } else {
                tm = null;
            }
            ssl.init(null, tm == null ? null : new TrustManager[] {tm}, null);
            SSLParameters params = new SSLParameters();
            if (pin != null || tls.insecure()) {
                // The pin identifies the agent; its certificate names the node, which the endpoint may not use.
                System.setProperty("jdk.internal.httpclient.disableHostnameVerification", "true");
            }
            return HttpClient.newBuilder().sslContext(ssl).sslParameters(params)
                    .connectTimeout(Duration.ofSeconds(5)).build();
        } catch (IOException | GeneralSecurityException e) {
            throw new PluginException("cannot set up TLS for the agent: " + e.getMessage());
        }
    }

    /** Trusts exactly the certificate with this SHA-256 (or, with null, anything: --insecure-skip-tls-verify). */
    record Pinned(String sha256, Object unused) implements X509TrustManager {
        public void checkClientTrusted(X509Certificate[] chain, String auth) throws CertificateException {
            throw new CertificateException("not a server");
        }

        public void checkServerTrusted(X509Certificate[] chain, String auth) throws CertificateException {
            if (sha256 == null) return;
            try {
                String got = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(chain[0].getEncoded()));
                if (!got.equalsIgnoreCase(sha256)) {
                    throw new CertificateException("the agent's certificate (SHA-256 " + got + ") is not the one its"
                            + " VmmNode publishes (" + sha256 + ")");
                }
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new CertificateException(e);
            }
        }

        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    public String vmPath(String rest) {
        return "/v1/vms/" + vm.getMetadata().getNamespace() + "/" + vm.getMetadata().getName() + rest;
    }

    public HttpResponse<byte[]> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(endpoint + path)).GET());
    }

    public HttpResponse<byte[]> post(String path) {
        return send(HttpRequest.newBuilder(URI.create(endpoint + path)).POST(HttpRequest.BodyPublishers.noBody()));
    }

    /** A GET whose status the caller judges (the agent's answer to a plain GET of a WebSocket path, say). */
    public HttpResponse<byte[]> getUnchecked(String path) {
        return send(HttpRequest.newBuilder(URI.create(endpoint + path)).GET(), false);
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder b) {
        return send(b, true);
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder b, boolean checked) {
        try {
            HttpResponse<byte[]> r = http.send(b.header("Authorization", "Bearer " + token)
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
            if (checked) check(r.statusCode(), new String(r.body()));
            return r;
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PluginException("interrupted");
        }
    }

    /** Turns the agent's refusals into one line. */
    void check(int status, String body) {
        if (status < 400) return;
        String msg = errorOf(body);
        switch (status) {
            case 401 -> throw new PluginException("the agent on " + node + " did not accept your credentials: " + msg);
            case 403 -> throw new PluginException(msg.startsWith("forbidden") ? msg : "forbidden: " + msg);
            case 404 -> throw new PluginException(msg);
            case 409 -> throw new PluginException("VM " + vm.getMetadata().getName() + ": " + msg);
            default -> throw new PluginException("the agent on " + node + " answered " + status + ": " + msg);
        }
    }

    static String errorOf(String body) {
        int i = body.indexOf("\"error\":\"");
        if (i < 0) return body.strip();
        int j = body.indexOf('"', i + 9);
        while (j > 0 && body.charAt(j - 1) == '\\') j = body.indexOf('"', j + 1);
        return j < 0 ? body.substring(i + 9) : body.substring(i + 9, j).replace("\\\"", "\"");
    }

    PluginException unreachable(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) root = root.getCause();
        if (e instanceof SSLHandshakeException || root instanceof CertificateException
                || root instanceof java.security.cert.CertPathValidatorException
                || root.getClass().getName().contains("CertPathBuilder")) {
            return new PluginException("cannot verify the certificate of the agent on " + node + " (" + endpoint + "): "
                    + root.getMessage() + "; with read access to vmmnodes the plugin pins it, or pass"
                    + " --certificate-authority FILE or --insecure-skip-tls-verify");
        }
        String why = e instanceof ConnectException || e instanceof HttpConnectTimeoutException
                ? (e.getMessage() == null ? "connection refused" : e.getMessage())
                : (root.getMessage() == null ? root.toString() : root.getMessage());
        return new PluginException("cannot reach the agent of node " + node + " at " + endpoint + ": " + why);
    }
}
