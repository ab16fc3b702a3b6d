package dev.apiary.vmm.x86;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Assembles GNU as source (AT&T syntax) to flat binary at test time, with the gcc toolchain CI has. */
final class Asm {
    private Asm() {}

    /** Assembles {@code source} (which may start with .code16/.code32; default .code64) linked at {@code origin}. */
    static byte[] assemble(String source, long origin) {
        try {
            Path dir = Files.createTempDirectory("asm");
            Path src = dir.resolve("a.s");
            Files.writeString(src, source.contains(".code") ? source + "\n" : ".code64\n" + source + "\n");
            run(dir, "as", "--64", "-o", "a.o", "a.s");
            run(dir, "ld", "-m", "elf_x86_64", "-Ttext=0x" + Long.toHexString(origin), "-e", "0", "-o", "a.elf", "a.o");
            run(dir, "objcopy", "-O", "binary", "-j", ".text", "a.elf", "a.bin");
            byte[] out = Files.readAllBytes(dir.resolve("a.bin"));
            for (String f : new String[] {"a.s", "a.o", "a.elf", "a.bin"}) {
                Files.deleteIfExists(dir.resolve(f));
            }
            Files.deleteIfExists(dir);
            return out;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("assembling failed: " + e.getMessage(), e);
        }
    }

    private static void run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + out);
        }
    }
}
