package dev.apiary.vmm.x86;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The real CPU as oracle: compiles {@code src/test/native/x86diff.c} with gcc into {@code target/x86diff/}
 * (once per source change) and runs a batch of cases through it in one process.
 */
final class NativeOracle {
    static final Path WORK = Path.of("target", "x86diff").toAbsolutePath();
    private static final Path SOURCE = Path.of("src", "test", "native", "x86diff.c").toAbsolutePath();

    private final Path binary;

    private NativeOracle(Path binary) {
        this.binary = binary;
    }

    /** Whether this host can run the oracle at all: x86-64 Linux (gcc and binutils are then required). */
    static boolean hostSupported() {
        String arch = System.getProperty("os.arch", "");
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    static synchronized NativeOracle build() throws IOException, InterruptedException {
        Files.createDirectories(WORK);
        Path bin = WORK.resolve("x86diff");
        if (!Files.exists(bin) || Files.getLastModifiedTime(bin).compareTo(Files.getLastModifiedTime(SOURCE)) < 0) {
            Path tmp = Files.createTempFile(WORK, "x86diff", ".bin");
            GnuAssembler.exec(WORK, "gcc", "-O1", "-Wall", "-o", tmp.toString(), SOURCE.toString());
            Files.move(tmp, bin, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return new NativeOracle(bin);
    }

    /** Whether the host executes LZCNT (rather than BSR, which F3 0F BD is without it): LZCNT of 1 is 31. */
    boolean hasLzcnt() throws IOException, InterruptedException {
        long[] g = new long[16];
        g[1] = 1;
        g[4] = DiffLayout.STACK_TOP;
        DiffCase probe = new DiffCase("probe", "lzcnt %ecx, %eax", g, DiffLayout.FIXED_FLAGS, new byte[DiffLayout.DATA_SIZE], 0, 0);
        DiffOutcome o = run(List.of(probe), List.of(new byte[] {(byte) 0xF3, 0x0F, (byte) 0xBD, (byte) 0xC1})).get(0);
        return !o.faulted() && o.gprs()[0] == 31;
    }

    List<DiffOutcome> run(List<DiffCase> cases, List<byte[]> code) throws IOException, InterruptedException {
        Path in = Files.createTempFile(WORK, "cases", ".txt");
        HexFormat hex = HexFormat.of();
        try {
            try (BufferedWriter w = Files.newBufferedWriter(in, StandardCharsets.US_ASCII)) {
                for (int i = 0; i < cases.size(); i++) {
                    DiffCase c = cases.get(i);
                    w.write("C " + hex.formatHex(code.get(i)) + " " + Long.toHexString(c.rflags()));
                    for (long g : c.gprs()) w.write(" " + Long.toHexString(g));
                    w.write(" " + hex.formatHex(c.data()) + " " + hex.formatHex(c.fpu()) + "\n");
                }
            }
            String out = GnuAssembler.exec(WORK, "sh", "-c", "exec '" + binary + "' < '" + in + "'");
            List<DiffOutcome> results = new ArrayList<>();
            for (String line : out.split("\n")) {
                if (!line.isBlank()) results.add(DiffOutcome.parseNative(line));
            }
            if (results.size() != cases.size()) {
                throw new IOException("harness answered " + results.size() + " of " + cases.size() + " cases");
            }
            return results;
        } finally {
            Files.deleteIfExists(in);
        }
    }
}
