package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Results and flags of integer instructions in 64-bit mode, values worked out from the SDM. */
class InstructionTest {
    private static final long CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800, ARITH = 0x8D5;

    private static LongMode run(String src) {
        LongMode m = new LongMode();
        assertEquals(Cpu.Exit.HALTED, m.run(src + "\nhlt"), () -> m.s.describe() + m.cpu.recentInstructions());
        return m;
    }

    /** Runs {@code src}, then returns RFLAGS' arithmetic bits captured by pushfq into RBX... */
    private static long flags(String src) {
        return run(src + "\npushfq\npop %rbx").r(3) & ARITH;
    }

    @Test
    void addAndSubFlags() {
        assertEquals(OF | SF | AF, flags("mov $0x7f,%al\nadd $1,%al"));
        assertEquals(CF | ZF | PF | AF, flags("mov $0xff,%al\nadd $1,%al"));
        assertEquals(CF | SF | PF | AF, flags("xor %eax,%eax\nsub $1,%eax"));
        assertEquals(OF | PF, flags("mov $0x80000000,%eax\nsub $1,%eax") & (OF | PF | CF));
        assertEquals(ZF | PF, flags("mov $5,%rax\ncmp $5,%rax"));
        assertEquals(CF | ZF | PF | AF, flags("stc\nmov $0xffffffffffffffff,%rax\nadc $0,%rax"));
        assertEquals(SF | CF | PF | AF, flags("xor %eax,%eax\nstc\nsbb $0,%ax"));
        assertEquals(CF, flags("stc\nmov $1,%ecx\ninc %ecx") & CF);
        assertEquals(CF | SF | PF | AF, flags("mov $1,%rax\nneg %rax"));
    }

    @Test
    void logicClearsCarryAndOverflow() {
        assertEquals(ZF | PF, flags("stc\nmov $0xf0,%eax\nand $0x0f,%eax"));
        assertEquals(SF, flags("mov $0x80,%al\nor $0,%al"));
    }

    @Test
    void shiftsAndRotates() {
        LongMode m = run("mov $0x81,%al\nshl $1,%al\npushfq\npop %rbx\nmov $0x80000001,%ecx\nror $1,%ecx\n"
                + "mov $-16,%rdx\nsar $2,%rdx\nmov $1,%esi\nstc\nrcl $1,%esi\nmov $0x1234,%edi\nshld $4,%edi,%edi");
        assertEquals(0x02, m.r(0) & 0xFF);
        assertEquals(CF | OF, m.r(3) & (CF | OF));
        assertEquals(0xC0000000L, m.r(1));
        assertEquals(-4L, m.r(2));
        assertEquals(3, m.r(6));
        assertEquals(0x12340, m.r(7));
    }

    @Test
    void multiplyAndDivide() {
        LongMode m = run("mov $-1,%rax\nmov $2,%rcx\nmul %rcx\nmov %rdx,%r8\nmov $100,%eax\nxor %edx,%edx\n"
                + "mov $7,%ecx\ndiv %ecx\nmov %eax,%r9d\nmov %edx,%r10d\nmov $-7,%rax\ncqo\nmov $2,%rcx\nidiv %rcx\n"
                + "imul $-3,%rax,%r11");
        assertEquals(1, m.r(8));
        assertEquals(14, m.r(9));
        assertEquals(2, m.r(10));
        assertEquals(-3, m.r(0));
        assertEquals(-1, m.r(2));
        assertEquals(9, m.r(11));
    }

    @Test
    void divideByZeroRaisesDivideError() {
        LongMode m = new LongMode();
        m.run("xor %ecx,%ecx\ndiv %ecx\nhlt");
        assertEquals(0, m.r(14)); // the #DE stub loads its vector into R14
        assertEquals(LongMode.CODE + 2, m.s.gpr(4) == 0 ? -1 : m.bus.read64(m.r(4)));
    }

    @Test
    void bitInstructions() {
        LongMode m = run("mov $0x10,%eax\nbsf %eax,%ebx\nbsr %eax,%ecx\nmov $0x30,%edx\nbts $0,%rdx\nbtr $4,%rdx\n"
                + "popcnt %rdx,%rsi\nmov $1,%edi\nlzcnt %edi,%edi\nmov $0x12345678,%r8d\nbswap %r8d");
        assertEquals(4, m.r(3));
        assertEquals(4, m.r(1));
        assertEquals(0x21, m.r(2));
        assertEquals(2, m.r(6));
        assertEquals(31, m.r(7));
        assertEquals(0x78563412L, m.r(8));
    }

    @Test
    void stringInstructions() {
        LongMode m = run("lea src(%rip),%rsi\nmov $0x200000,%rdi\nmov $5,%ecx\ncld\nrep movsb\n"
                + "mov $0x200000,%rdi\nmov $0x41,%al\nmov $5,%ecx\nrepne scasb\nmov %rcx,%rbx\n"
                + "mov $0x300000,%rdi\nmov $0x1122334455667788,%rax\nmov $3,%ecx\nrep stosq\njmp 1f\n"
                + "src: .ascii \"xyAzw\"\n1:");
        assertEquals("xyAzw", new String(new byte[] {m.bus.ram.get(0x200000), m.bus.ram.get(0x200001),
            m.bus.ram.get(0x200002), m.bus.ram.get(0x200003), m.bus.ram.get(0x200004)}));
        assertEquals(2, m.r(3));
        assertEquals(0x1122334455667788L, m.bus.read64(0x300010));
        assertEquals(0x300018, m.r(7));
    }

    @Test
    void atomicsAndExchange() {
        LongMode m = run("movq $5,0x200000\nmov $5,%eax\nmov $9,%ecx\nlock cmpxchg %rcx,0x200000\nsetz %r8b\n"
                + "mov $3,%edx\nlock xadd %rdx,0x200000\nmov $0x77,%r9\nxchg %r9,0x200000\nlock incq 0x200000");
        assertEquals(1, m.r(8) & 0xFF);
        assertEquals(9, m.r(2));
        assertEquals(12, m.r(9));
        assertEquals(0x78, m.bus.read64(0x200000));
    }

    @Test
    void stackFramesAndCalls() {
        LongMode m = run("mov %rsp,%r12\ncall f\nmov %rax,%rbx\njmp 2f\nf: enter $16,$0\nmov $42,%eax\nleave\nret\n2:");
        assertEquals(42, m.r(3));
        assertEquals(LongMode.STACK, m.r(12));
        assertEquals(LongMode.STACK, m.r(4));
    }

    @Test
    void cpuidAdvertisesOnlyWhatIsImplemented() {
        LongMode m = run("xor %eax,%eax\ncpuid\nmov %rbx,%r8\nmov %rdx,%r9\nmov %rcx,%r10\nmov $1,%eax\ncpuid\n"
                + "mov %rcx,%r11\nmov %rdx,%r12\nmov $0x80000001,%eax\ncpuid");
        assertEquals("GenuineIntel", word(m.r(8)) + word(m.r(9)) + word(m.r(10)));
        assertEquals(1L << 31, m.r(11) & (1L << 31));
        long fpuFxsrSseSse2 = (1 << 0) | (1 << 24) | (1 << 25) | (1 << 26);
        assertEquals(fpuFxsrSseSse2, m.r(12) & fpuFxsrSseSse2);
        assertEquals(0, m.r(12) & (1 << 23)); // no MMX
        // no SSE3, SSSE3, PCID, SSE4.1, SSE4.2, XSAVE, OSXSAVE, AVX
        assertEquals(0, m.r(11) & (1 | 1 << 9 | 1 << 17 | 1 << 19 | 1 << 20 | 1 << 26 | 1 << 27 | 1 << 28));
        assertEquals(1L << 29, m.r(2) & (1L << 29));
    }

    private static String word(long v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            sb.append((char) ((v >>> (8 * i)) & 0xFF));
        }
        return sb.toString();
    }

    @Test
    void selfModifyingCodeIsSeen() {
        LongMode m = run("mov $1,%ecx\n1: movb $7,2f+1(%rip)\n2: mov $0,%al\nmovzbl %al,%ebx");
        assertEquals(7, m.r(3));
    }

    @Test
    void unimplementedOpcodeIsUndefinedOpcodeInTheGuest() {
        LongMode m = new LongMode();
        m.run(".byte 0x0f,0x38,0x00,0xc0\nhlt");
        assertEquals(6, m.r(14));
    }
}
