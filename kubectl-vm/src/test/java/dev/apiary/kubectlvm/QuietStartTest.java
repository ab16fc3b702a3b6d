package dev.apiary.kubectlvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The plugin says one line and nothing else: no SLF4J noise, and kubectl's words when there is no kubeconfig. */
class QuietStartTest {
    static final String NO_KUBECONFIG = "no kubeconfig found: set KUBECONFIG or create ~/.kube/config";

    @TempDir
    Path home;

    @Test
    void anSlf4jProviderIsThereSoNothingWarnsAboutItsAbsence() {
        assertEquals("org.slf4j.simple.SimpleLoggerFactory", LoggerFactory.getILoggerFactory().getClass().getName());
    }

    @Test
    void theLibrariesAreSilentUnlessVerbose() {
        assertEquals("off", KubectlVm.logLevel(new String[] {"list"}));
        assertEquals("warn", KubectlVm.logLevel(new String[] {"-v", "list"}));
        assertEquals("warn", KubectlVm.logLevel(new String[] {"logs", "web", "--verbose"}));
        assertEquals("off", KubectlVm.logLevel(new String[] {"logs", "--", "-v"}));
    }

    @Test
    void noKubeconfigIsSaidAsKubectlSaysIt() throws Exception {
        assertEquals(NO_KUBECONFIG, KubectlVm.noKubeconfig(Map.of(), home));
        assertNull(KubectlVm.noKubeconfig(Map.of("KUBECONFIG", "/some/where"), home));
        Files.createDirectories(home.resolve(".kube"));
        Files.writeString(home.resolve(".kube/config"), "apiVersion: v1\nkind: Config\n");
        assertNull(KubectlVm.noKubeconfig(Map.of(), home));
    }

    @Test
    void aFreshShellWithoutKubeconfigGetsOneLine() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Duser.home=" + home, "-cp", System.getProperty("java.class.path"),
                KubectlVm.class.getName(), "list");
        pb.environment().remove("KUBECONFIG");
        pb.environment().remove("KUBERNETES_SERVICE_HOST");
        pb.environment().put("HOME", home.toString());
        Process p = pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), err);
        assertEquals("", out);
        assertEquals(List.of("error: " + NO_KUBECONFIG), err.lines().toList());
        assertFalse(err.contains("SLF4J"), err);
    }
}
