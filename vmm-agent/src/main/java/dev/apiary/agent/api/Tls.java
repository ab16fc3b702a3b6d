package dev.apiary.agent.api;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The agent's TLS identity: a PEM certificate and key from the configuration, or else a self-signed one made once
 * with the JDK's keytool and kept beside the runtime directories (so its fingerprint, published on the VmmNode,
 * stays the same across agent restarts).
 */
public record Tls(Path certPem, Path keyPem, Path pkcs12, String password, String sha256) {

    public static Tls fromPem(Path cert, Path key) throws IOException {
        try (InputStream in = Files.newInputStream(cert)) {
            Certificate c = CertificateFactory.getInstance("X.509").generateCertificate(in);
            return new Tls(cert, key, null, null, fingerprint(c));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read the certificate " + cert + ": " + e.getMessage(), e);
        }
    }

    /** The self-signed identity in {@code dir} (made on first use), valid for the node name and localhost. */
    public static Tls selfSigned(Path dir, String node) throws IOException {
        Files.createDirectories(dir);
        Path ks = dir.resolve("agent.p12");
        Path pw = dir.resolve("agent.p12.password");
        if (!Files.exists(ks) || !Files.exists(pw)) {
            byte[] r = new byte[18];
            new SecureRandom().nextBytes(r);
            String password = HexFormat.of().formatHex(r);
            Files.writeString(pw, password);
            String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
            String san = "dns:" + node + ",dns:localhost,ip:127.0.0.1";
            Process p = new ProcessBuilder(List.of(keytool, "-genkeypair", "-alias", "agent", "-keyalg", "EC",
                    "-groupname", "secp256r1", "-validity", "3650", "-dname", "CN=" + node + ",O=apiary vmm-agent",
                    "-ext", "SAN=" + san, "-keystore", ks.toString(), "-storetype", "PKCS12",
                    "-storepass", password, "-keypass", password)).redirectErrorStream(true).start();
            try {
                String out = new String(p.getInputStream().readAllBytes());
                if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    Files.deleteIfExists(ks);
                    throw new IOException("keytool could not make a certificate: " + out.strip());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while making a certificate", e);
            }
        }
        String password = Files.readString(pw).strip();
        try (InputStream in = Files.newInputStream(ks)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password.toCharArray());
            return new Tls(null, null, ks, password, fingerprint(store.getCertificate("agent")));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read " + ks + ": " + e.getMessage(), e);
        }
    }

    /** SHA-256 of the certificate's DER encoding, lower-case hex (what clients pin). */
    public static String fingerprint(Certificate c) throws GeneralSecurityException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
    }
}
