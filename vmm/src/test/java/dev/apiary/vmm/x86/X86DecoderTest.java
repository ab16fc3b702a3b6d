package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The decoder against objdump's view of GNU as output: for every instruction of the differential corpus and
 * a sweep of every ModRM/SIB/displacement form with every base and index register (64-, 32- and 16-bit
 * addressing, with and without 66/67/REX), the decoded length, memory operand (base, index, scale,
 * displacement, RIP-relative) and, where the generator knows it, operand size must agree.
 */
class X86DecoderTest {
    private static final Pattern MEM = Pattern.compile(
            "(?:%[c-gs]s:)?(-?0x[0-9a-f]+)?\\((%[a-z0-9]+)?(?:,(%[a-z0-9]+)(?:,([1248]))?)?\\)");
    private static final String[] R64 = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"};
    private static final String[] R32 = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
    private static final String[] R16 = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di"};

    /**
     * Encodings whose decoding differs and is reported (findings/x86.md, "From x86diff"), as hex bytes;
     * remove an entry when its fix lands.
     */
    private static final Set<String> KNOWN_FAILURES = Set.of(); // none: every listed failure was fixed (UD1 ModRM, 8c3d45e)

    /** A source line and the operand size (bytes) it must decode with, 0 where the test does not say. */
    private record Form(String asm, int osize) {}

    @Test
    void lengthsAndOperandsMatchObjdumpIn64BitMode() throws Exception {
        List<Form> forms = new ArrayList<>();
        for (DiffCase c : DiffCases.all(7, 1)) forms.add(new Form(c.asm(), 0));
        String[] bases = {"%rax", "%rcx", "%rdx", "%rbx", "%rsp", "%rbp", "%rsi", "%rdi", "%r8", "%r12", "%r13", "%r15", ""};
        String[] indexes = {"", "%rax", "%rbp", "%rsi", "%r9", "%r12", "%r13", "%r15"};
        String[] disps = {"", "0x7f", "-0x80", "0x80", "-0x81", "0x12345678", "-0x7fffffff"};
        for (String base : bases) {
            for (String index : indexes) {
                for (String disp : disps) {
                    if (base.isEmpty() && index.isEmpty()) continue;
                    for (int scale : new int[] {1, 2, 4, 8}) {
                        if (index.isEmpty() && scale > 1) continue;
                        String m = disp + "(" + base + (index.isEmpty() ? "" : "," + index + "," + scale) + ")";
                        forms.add(new Form("addl %r10d, " + m, 4));
                        forms.add(new Form("movq " + m + ", %r9", 8));
                        forms.add(new Form("incw " + m, 2));
                        forms.add(new Form("cmpb $0x12, " + m, 1));
                        forms.add(new Form("imulq $0x12345, " + m + ", %rdx", 8));
                        String m32 = m.replaceAll("%r(\\d+)", "%r$1d").replaceAll("%r([a-z]+)", "%e$1");
                        forms.add(new Form("addl %eax, " + m32, 4));
                    }
                }
            }
        }
        for (String disp : new String[] {"0", "0x7f", "-0x80", "0x12345678"}) {
            forms.add(new Form("addq " + disp + "(%rip), %rax", 8));
            forms.add(new Form("movw $0x1234, " + disp + "(%rip)", 2));
            forms.add(new Form("addl %eax, " + disp, 4));
        }
        check(forms, 64);
    }

    @Test
    void lengthsAndOperandsMatchObjdumpIn32And16BitModes() throws Exception {
        String[] ops = {"addl %ecx, %s", "movw %s, %dx", "incb %s", "shll $3, %s", "imull $0x1234, %s, %esi",
                        "cmpw $-3, %s", "leal %s, %edi", "testl $0x55aa, %s", "btsl $5, %s"};
        List<Form> forms32 = new ArrayList<>();
        String[] bases = {"%eax", "%ecx", "%ebx", "%esp", "%ebp", "%esi", ""};
        String[] indexes = {"", "%eax", "%ebp", "%edi"};
        for (String base : bases) {
            for (String index : indexes) {
                if (base.isEmpty() && index.isEmpty()) continue;
                for (String disp : new String[] {"", "0x7f", "-0x80", "0x12345678"}) {
                    for (String op : ops) {
                        String m = disp + "(" + base + (index.isEmpty() ? "" : "," + index + ",4") + ")";
                        forms32.add(new Form(op.replace("%s", m), 0));
                        forms32.add(new Form(op.replace("%s", m).replace("addl %ecx, ", "addw %cx, "), 0));
                    }
                }
            }
        }
        for (String op : ops) forms32.add(new Form(op.replace("%s", "0x1234"), 0));
        check(forms32, 32);

        List<Form> forms16 = new ArrayList<>();
        String[] pairs = {"(%bx,%si)", "(%bx,%di)", "(%bp,%si)", "(%bp,%di)", "(%si)", "(%di)", "(%bp)", "(%bx)"};
        for (String pair : pairs) {
            for (String disp : new String[] {"", "0x7f", "-0x80", "0x1234"}) {
                for (String op : ops) forms16.add(new Form(op.replace("%s", disp + pair), 0));
            }
        }
        for (String op : ops) forms16.add(new Form(op.replace("%s", "0x1234"), 0));
        forms16.add(new Form("addl %ecx, (%eax,%ebx,8)", 0)); // 67 in 16-bit mode: 32-bit addressing
        check(forms16, 16);
    }

    private void check(List<Form> forms, int mode) throws Exception {
        assumeTrue(NativeOracle.hostSupported(), "objdump view needs x86 binutils");
        List<GnuAssembler.Assembled> asm = GnuAssembler.assemble(NativeOracle.WORK, forms.stream().map(Form::asm).toList(), mode);
        Set<String> failures = new LinkedHashSet<>();
        Set<String> knownSeen = new LinkedHashSet<>();
        HexFormat hex = HexFormat.of();
        int checked = 0;
        for (int i = 0; i < asm.size(); i++) {
            List<GnuAssembler.Insn> insns = asm.get(i).insns();
            if (!decodable(insns)) continue;
            for (GnuAssembler.Insn x : insns) {
                String problem = compare(x, mode, insns.size() == 1 ? forms.get(i).osize() : 0);
                checked++;
                if (problem != null && KNOWN_FAILURES.contains(hex.formatHex(x.bytes()))) {
                    knownSeen.add(hex.formatHex(x.bytes()));
                } else if (problem != null) failures.add(hex.formatHex(x.bytes()) + "  " + x.text() + ": " + problem);
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + checked + " instructions decode unlike objdump (" + mode + "-bit):\n"
                    + String.join("\n", failures.stream().limit(60).toList()));
        }
        if (mode == 64 && !knownSeen.containsAll(KNOWN_FAILURES)) {
            fail("known decoder failures now pass, remove them from KNOWN_FAILURES: " + KNOWN_FAILURES);
        }
    }

    /**
     * Whether objdump decoded the snippet as whole instructions: it prints bytes it cannot decode (a #UD
     * opcode's operand bytes) and prefixes it does not attach (REX before 66, a 15th prefix) as lines of
     * their own, where the CPU sees one instruction. A lone (bad) is still checked (it must decode to #UD).
     */
    private static boolean decodable(List<GnuAssembler.Insn> insns) {
        for (GnuAssembler.Insn x : insns) {
            String t = x.text();
            boolean bad = t.startsWith("(bad)") || t.startsWith(".byte");
            if (bad && insns.size() > 1) return false;
            if (t.matches("(rex(\\.\\w+)?|data16|addr32|[c-gs]s|lock|rep[nez]*)(\\s.*)?") && !t.matches(".*\\s[%$(0-9].*")) {
                return false;
            }
            if (t.startsWith("data16 data16") || t.startsWith("rex.")) return false;
        }
        return true;
    }

    /** Null when the decoder agrees with objdump on this instruction. */
    private static String compare(GnuAssembler.Insn x, int mode, int osize) {
        byte[] b = x.bytes();
        Insn d;
        try {
            // Bytes past the instruction are INT3: a decoder that reads on gets a wrong length.
            d = new Decoder(new GuestFault()).decode(i -> i < b.length ? b[i] : 0xCC, mode);
        } catch (GuestFault f) {
            return "decoder raised " + f.getMessage();
        } catch (RuntimeException e) {
            return "decoder threw " + e;
        }
        if (x.text().startsWith("(bad)")) {
            return d.op == Op.UD ? null : "objdump says (bad), decoded " + d.disassemble();
        }
        if (d.length != b.length) return "length " + d.length + ", objdump " + b.length + " (" + d.disassemble() + ")";
        if (osize != 0 && d.s1 != osize) return "first operand size " + d.s1 + ", expected " + osize;
        String text = x.text().replaceAll("\\s+#.*$", "");
        String mnemonic = text.split("\\s+")[0].toLowerCase(Locale.ROOT);
        Matcher m = MEM.matcher(text);
        boolean branch = mnemonic.startsWith("j") || mnemonic.startsWith("call") || mnemonic.startsWith("loop");
        if (!m.find()) {
            // An absolute ModRM operand ("add %eax,0x1234") has no parentheses; string ops show theirs.
            return null;
        }
        if (text.contains("%ds:(%") || text.contains("%es:(%") || mnemonic.startsWith("xlat")) return null; // implicit
        if (branch && !text.contains("*")) return null;
        if (!d.mem) return "no memory operand decoded, objdump " + m.group() + " (" + d.disassemble() + ")";
        long disp = m.group(1) == null ? 0 : Long.decode(m.group(1));
        String base = m.group(2), index = m.group(3);
        int scale = m.group(4) == null ? 1 : Integer.parseInt(m.group(4));
        long amask = d.asize == 8 ? -1L : (1L << (8 * d.asize)) - 1;
        if ("%rip".equals(base) || "%eip".equals(base)) {
            if (!d.ripRel) return "not RIP-relative (" + d.disassemble() + ")";
        } else {
            if (d.ripRel) return "RIP-relative, objdump " + m.group();
            if (d.base != reg(base)) return "base r" + d.base + ", objdump " + base + " (" + d.disassemble() + ")";
        }
        if (d.index != reg(index)) return "index r" + d.index + ", objdump " + index + " (" + d.disassemble() + ")";
        if (index != null && 1 << d.scale != scale) return "scale " + (1 << d.scale) + ", objdump " + scale;
        if (((d.disp - disp) & amask) != 0) return "displacement " + Long.toHexString(d.disp) + ", objdump " + m.group(1);
        return null;
    }

    /** A register number from objdump's name, -1 for none. */
    private static int reg(String name) {
        if (name == null) return -1;
        String n = name.substring(1);
        for (int i = 0; i < 8; i++) {
            if (n.equals(R64[i]) || n.equals(R32[i]) || n.equals(R16[i])) return i;
        }
        Matcher m = Pattern.compile("r(\\d+)[dwb]?").matcher(n);
        return m.matches() ? Integer.parseInt(m.group(1)) : -2;
    }
}
