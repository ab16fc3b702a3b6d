package dev.apiary.vmm.accel.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles every expression in {@link KvmAbi#facts()} against the real {@code <linux/kvm.h>} with gcc and
 * checks the Java side agrees: struct sizes, field offsets, ioctl numbers, exit reasons. ABI drift fails here.
 */
class KvmAbiTest {
    @Test
    void everyLayoutAndIoctlMatchesTheKernelHeader(@TempDir Path dir) throws Exception {
        Map<String, Long> facts = KvmAbi.facts();
        StringBuilder c = new StringBuilder("""
                #include <stddef.h>
                #include <stdio.h>
                #include <linux/kvm.h>
                int main(void) {
                """);
        for (String expr : facts.keySet()) {
            c.append("  printf(\"%llu\\n\", (unsigned long long)(").append(expr).append("));\n");
        }
        c.append("  return 0;\n}\n");
        Path src = dir.resolve("abi.c");
        Path exe = dir.resolve("abi");
        Files.writeString(src, c);
        Process gcc = new ProcessBuilder("gcc", "-o", exe.toString(), src.toString()).redirectErrorStream(true).start();
        String gccOut = new String(gcc.getInputStream().readAllBytes());
        assertTrue(gcc.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, gcc.exitValue(), "gcc failed:\n" + gccOut);
        Process run = new ProcessBuilder(exe.toString()).start();
        List<String> lines = new String(run.getInputStream().readAllBytes()).lines().toList();
        assertEquals(0, run.waitFor());
        assertEquals(facts.size(), lines.size());
        Map<String, String> wrong = new LinkedHashMap<>();
        int i = 0;
        for (Map.Entry<String, Long> e : facts.entrySet()) {
            long kernel = Long.parseUnsignedLong(lines.get(i++));
            if (kernel != e.getValue()) {
                wrong.put(e.getKey(), "Java 0x" + Long.toHexString(e.getValue()) + ", <linux/kvm.h> 0x" + Long.toHexString(kernel));
            }
        }
        List<String> report = new ArrayList<>();
        wrong.forEach((k, v) -> report.add(k + ": " + v));
        assertTrue(wrong.isEmpty(), "ABI mismatch:\n" + String.join("\n", report));
    }
}
