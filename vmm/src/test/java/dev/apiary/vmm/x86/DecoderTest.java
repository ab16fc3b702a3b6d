package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Lengths and handlers of instruction bytes as GNU as produces them, in 64-, 32- and 16-bit code. */
class DecoderTest {
    private static final List<String> LONG = List.of("add %al,(%rax)", "add %r8,%r9", "add $0x12345678,%rax",
            "addl $1,0x1234(%rip)", "lock addl $1,(%rsp)", "adc 0x10(%rax,%rbx,8),%ecx", "sbb %sil,%dil",
            "and $-1,%r15w", "or $0x7f,%bl", "xor %eax,%eax", "cmp $0x80,%r11", "test %ah,%bh", "inc %r12", "dec %cx",
            "not %rdx", "neg %sp", "mul %rcx", "imul %r8", "imul $123456,%rax,%rbx", "imul $-3,%edx,%ecx",
            "imul (%rax),%rsi", "div %r10b", "idiv %rbx", "shl $5,%eax", "sar %cl,%r9", "rcl %rax", "rcr $3,%bx",
            "rol $1,%al", "ror %cl,%edi", "shld $4,%rax,%rbx", "shrd %cl,%edx,%eax", "bt %rax,(%rbx)",
            "bts $3,%ecx", "btr %eax,%ebx", "btc $63,%rax", "bsf %rax,%rbx", "bsr %ecx,%edx", "rep bsf %eax,%ecx",
            "popcnt %rax,%rbx", "lzcnt %eax,%ebx", "mov %rax,%rbx", "movabs $0x123456789abcdef0,%r13",
            "mov $0x12345678,%ecx", "movb $1,(%rax)", "movw $0x1234,0x8(%rbp)", "movq $-1,(%rsp)",
            "movabs 0x1122334455667788,%al", "movabs %rax,0x1122334455667788", "movzbl (%rsi),%eax",
            "movzwl %ax,%ecx", "movsbq %al,%rax", "movswl (%rdx),%edx", "movslq %eax,%rdx", "lea 0x8(%rax,%rcx,4),%rdx",
            "lea (%rip),%rax", "xchg %rax,%r8", "xchg %ecx,(%rdx)", "xadd %eax,(%rbx)", "lock cmpxchg %rcx,(%rdx)",
            "cmpxchg8b (%rdi)", "cmpxchg16b (%rdi)", "cmove %rax,%rbx", "cmovl (%rax),%ecx", "sete %al", "setg (%rax)",
            "bswap %eax", "bswap %r9", "cbw", "cwde", "cdqe", "cwd", "cdq", "cqo", "xlat", "lahf", "sahf",
            "push %rax", "push %r15", "pushq $0x12345678", "pushq $1", "pushq (%rax)", "pop %rbx", "pop %r8",
            "popq (%rax)", "pushfq", "popfq", "push %fs", "pop %gs", "enter $16,$0", "leave", "mov %ds,%eax",
            "mov %eax,%ss", "nop", "nopw 0x0(%rax,%rax,1)", "nopl 0x0(%rax)", "pause", "jmp .", "jmp .+0x1000",
            "je .", "jne .+0x1000", "jmp *%rax", "jmp *(%rax)", "call .", "call *%rax", "call *0x8(%rbx)", "ret",
            "ret $8", "lretq", "lret", "ljmp *(%rax)", "lcall *(%rax)", "loop .", "loope .", "loopne .", "jrcxz .",
            "int $0x80", "int3", "iretq", "iret", "syscall", "sysretq", "sysretl", "movsb", "movsq", "rep movsb",
            "rep stosq", "repe cmpsb", "repne scasb", "lodsl", "insb", "outsw", "in $0x60,%al", "in (%dx),%eax",
            "out %al,$0x80", "out %ax,(%dx)", "hlt", "clc", "stc", "cmc", "cld", "std", "cli", "sti", "cpuid",
            "rdtsc", "rdtscp", "rdmsr", "wrmsr", "mov %cr0,%rax", "mov %rax,%cr3", "mov %cr8,%rax", "mov %rax,%cr4",
            "mov %db7,%rax", "lgdt (%rax)", "lidt 0x10(%rax)", "sgdt (%rax)", "sidt (%rax)", "ltr %ax", "lldt %ax",
            "str %eax", "sldt %ax", "lmsw %ax", "smsw %eax", "invlpg (%rax)", "swapgs", "clts", "lar (%rax),%eax",
            "lsl %ax,%ecx", "verr %ax", "verw (%rax)", "wbinvd", "mfence", "lfence", "sfence", "clflush (%rax)",
            "ud2", "fwait", "prefetchnta (%rax)", "fs mov (%rax),%rax", "gs mov 0x28,%rax", "mov %fs:0x0,%rax",
            "addr32 mov (%eax),%eax", "add %ax,%bx", "movsbw %al,%ax", "imul %ax", "movw %ds,(%rax)");

    private static final List<String> PROT32 = List.of(".code32\nadd %eax,%ebx", ".code32\ninc %eax",
            ".code32\ndec %esi", ".code32\npusha", ".code32\npopa", ".code32\ndaa", ".code32\ndas", ".code32\naaa",
            ".code32\naas", ".code32\naam", ".code32\naad", ".code32\npush %es", ".code32\npop %ds",
            ".code32\nljmp $0x10,$0x12345678", ".code32\nlcall $0x10,$0x1234", ".code32\ninto",
            ".code32\nmov 0x12345678,%eax", ".code32\nlea (%bx,%si),%ax", ".code32\nles (%eax),%ecx",
            ".code32\nlds (%eax),%ebx", ".code32\nlss (%eax),%esp", ".code32\nmovl $1,(%esp)", ".code32\niret",
            ".code32\nmov %eax,%cr0", ".code32\nljmp $0x08,$1f\n1:");

    private static final List<String> REAL16 = List.of(".code16\nmov %cs,%ax", ".code16\nmov %ax,%ds",
            ".code16\nlgdtl 0x1234", ".code16\nmovl %cr0,%eax", ".code16\norl $1,%eax", ".code16\nljmpl $0x08,$0x1000",
            ".code16\nmov 0x10(%bx,%si),%ax", ".code16\nmov (%bp),%al", ".code16\nint $0x10", ".code16\niret",
            ".code16\npushf", ".code16\nmov $0x1234,%ax", ".code16\ncall .", ".code16\nrep stosw", ".code16\nlret");

    @Test
    void decodesWhatTheAssemblerProducesIn64BitMode() {
        check(LONG, 64);
    }

    @Test
    void decodesProtectedModeEncodings() {
        check(PROT32, 32);
    }

    @Test
    void decodesRealModeEncodings() {
        check(REAL16, 16);
    }

    private static void check(List<String> sources, int mode) {
        StringBuilder all = new StringBuilder();
        for (String src : sources) {
            all.append(src.contains(".code") ? "" : ".code64\n").append(src).append("\n.byte 0xcc,0xcc,0xcc,0xcc\n");
        }
        // one assembly for all: each instruction is followed by a 4-byte int3 marker
        byte[] code = Asm.assemble(all.toString(), 0x1000);
        Decoder decoder = new Decoder(new GuestFault());
        int pos = 0;
        for (String src : sources) {
            final int start = pos;
            Insn d = decoder.decode(i -> code[start + i], mode);
            String what = src.replace('\n', ' ');
            assertNotSame(Decoder.BAD, d.entry, () -> what + " is not in the opcode table");
            pos = start + d.length;
            for (int k = 0; k < 4; k++) {
                int at = pos + k;
                assertEquals((byte) 0xCC, code[at], () -> what + ": wrong length " + d.length);
            }
            pos += 4;
        }
        assertEquals(code.length, pos);
    }

    @Test
    void unknownEncodingsDecodeToUd() {
        Decoder decoder = new Decoder(new GuestFault());
        byte[][] cases = {{0x0F, 0x38, 0x00, (byte) 0xC0}, {(byte) 0xC4, (byte) 0xE2, 0x79, 0x18, 0x00},
            {0x0F, (byte) 0xFF}, {(byte) 0xD8, (byte) 0xC0}, {0x0F, 0x0B}};
        for (byte[] c : cases) {
            Insn d = decoder.decode(i -> c[i], 64);
            assertEquals(Op.UD, d.op);
        }
    }

    @Test
    void moreThanFifteenBytesIsGeneralProtection() {
        Decoder decoder = new Decoder(new GuestFault());
        byte[] c = new byte[20];
        java.util.Arrays.fill(c, (byte) 0x66);
        GuestFault f = org.junit.jupiter.api.Assertions.assertThrows(GuestFault.class, () -> decoder.decode(i -> c[i], 64));
        assertEquals(GuestFault.GP, f.vector);
    }
}
