package dev.apiary.vmm.x86;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Assembles AT&T snippets with the GNU assembler and reads them back with objdump, so the differential
 * tests never hand-encode an instruction and the decoder tests get an independent view of every
 * instruction's length and operands. All snippets go through one {@code as} and one {@code objdump} run.
 */
final class GnuAssembler {
    /** One instruction as objdump sees it. */
    record Insn(byte[] bytes, String text) {}

    /** One snippet: its bytes and the instructions objdump found in them. */
    record Assembled(String source, byte[] bytes, List<Insn> insns) {}

    private static final Pattern LABEL = Pattern.compile("^[0-9a-f]+ <s(\\d+)>:$");
    private static final Pattern INSN = Pattern.compile("^\\s*[0-9a-f]+:\\t([0-9a-f ]+?)\\s*(?:\\t(.*))?$");

    private GnuAssembler() {}

    static List<Assembled> assemble(Path workDir, List<String> snippets) throws IOException, InterruptedException {
        return assemble(workDir, snippets, 64);
    }

    /** Assembles for a code segment of {@code mode} bits (16, 32 or 64) and disassembles the same way. */
    static List<Assembled> assemble(Path workDir, List<String> snippets, int mode) throws IOException, InterruptedException {
        Files.createDirectories(workDir);
        StringBuilder src = new StringBuilder(mode == 16 ? ".code16\n.text\n" : ".text\n");
        for (int i = 0; i < snippets.size(); i++) {
            src.append("s").append(i).append(":\n");
            for (String line : snippets.get(i).split(";")) src.append('\t').append(line.strip()).append('\n');
        }
        // A closing label so the last snippet ends like every other one; the nop keeps it in the listing.
        src.append("s").append(snippets.size()).append(":\n\tnop\n");
        Path s = Files.createTempFile(workDir, "cases", ".s");
        Path o = Files.createTempFile(workDir, "cases", ".o");
        try {
            Files.writeString(s, src);
            exec(workDir, "as", mode == 64 ? "--64" : "--32", "-o", o.toString(), s.toString());
            String dump = mode == 16
                    ? exec(workDir, "objdump", "-d", "-z", "--insn-width=16", "-m", "i8086", o.toString())
                    : exec(workDir, "objdump", "-d", "-z", "--insn-width=16", o.toString());
            return parse(snippets, dump);
        } finally {
            Files.deleteIfExists(s);
            Files.deleteIfExists(o);
        }
    }

    private static List<Assembled> parse(List<String> snippets, String dump) {

        List<List<Insn>> insns = new ArrayList<>();
        for (int i = 0; i <= snippets.size(); i++) insns.add(new ArrayList<>());
        int current = -1;
        HexFormat hex = HexFormat.of();
        for (String line : dump.split("\n")) {
            Matcher m = LABEL.matcher(line);
            if (m.matches()) {
                current = Integer.parseInt(m.group(1));
                continue;
            }
            m = INSN.matcher(line);
            if (current >= 0 && m.matches()) {
                byte[] b = hex.parseHex(m.group(1).replace(" ", ""));
                insns.get(current).add(new Insn(b, m.group(2) == null ? "" : m.group(2).strip()));
            }
        }
        List<Assembled> out = new ArrayList<>();
        for (int i = 0; i < snippets.size(); i++) {
            List<Insn> list = insns.get(i);
            int n = list.stream().mapToInt(x -> x.bytes().length).sum();
            byte[] all = new byte[n];
            int p = 0;
            for (Insn x : list) {
                System.arraycopy(x.bytes(), 0, all, p, x.bytes().length);
                p += x.bytes().length;
            }
            out.add(new Assembled(snippets.get(i), all, List.copyOf(list)));
        }
        return out;
    }

    /** Runs a host tool, returning its stdout; a failure carries the tool's stderr. */
    static String exec(Path dir, String... command) throws IOException, InterruptedException {
        Path err = Files.createTempFile(dir, "tool", ".err");
        Path outFile = Files.createTempFile(dir, "tool", ".out");
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectOutput(outFile.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish");
            }
            if (p.exitValue() != 0) {
                String msg = Files.readString(err, StandardCharsets.UTF_8);
                throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "):\n"
                        + msg.substring(0, Math.min(msg.length(), 4000)));
            }
            return Files.readString(outFile, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(err);
            Files.deleteIfExists(outFile);
        }
    }
}
