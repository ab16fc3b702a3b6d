package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The translator against the interpreter on programs with loops (blocks that are translated, chained through
 * the code-page cache and looped inside): the same registers, flags, memory and instruction counts; and the
 * translator's own duties: self-modifying code, precise guest exceptions inside a block, exits at block
 * boundaries. Every other x86 test also runs through the translator with {@code -Dapiary.x86.translate=1}.
 */
class TranslatorTest {
    /** Integer work in a loop: the kit's cpubench body, byte registers, memory operands, the stack, CMOV/SETcc. */
    private static final String LOOPS = """
            mov $0x2A,%rax
            mov $0x9e3779b97f4a7c15,%rbx
            mov $1,%rdx
            mov $5000,%rcx
            1: add %rbx,%rax
            xor %rax,%rdx
            rol $13,%rax
            imul %rbx,%rdx
            sub %rdx,%rbx
            or $1,%rbx
            shr $3,%rdx
            lea 7(%rax,%rdx,2),%rax
            and %rbx,%rdx
            not %rdx
            add $0x55,%rbx
            xor %rdx,%rax
            cmp %rax,%rbx
            adc $0,%rdx
            neg %rbx
            mov %rax,%rbx
            dec %rcx
            jnz 1b
            mov $0x200000,%rsi
            mov $0x201000,%rdi
            mov $300,%ecx
            2: mov %cl,%al
            imul $37,%eax,%eax
            mov %al,(%rsi,%rcx)
            movzbl (%rsi,%rcx),%r8d
            add %dl,%ah
            movsbl %ah,%edx
            movslq %edx,%r9
            push %r9
            pop %r10
            addq %r10,8(%rdi)
            sarl $1,4(%rdi)
            incw 2(%rdi)
            cmp $100,%r8d
            cmovb %r8,%r11
            setg %bl
            sbb %bh,%bl
            shl $3,%r11w
            ror $1,%r12
            sub $1,%ecx
            jnz 2b
            mov $0x202000,%rdi
            mov $64,%ecx
            mov $0x5a,%al
            rep stosb
            3: inc %r13
            cmp $77,%r13
            jne 3b
            """;

    private static LongMode run(int threshold, String src) {
        LongMode m = new LongMode(threshold);
        assertEquals(Cpu.Exit.HALTED, m.run(src + "\nhlt"), () -> m.s.describe() + m.cpu.recentInstructions());
        return m;
    }

    private static byte[] memory(LongMode m, long at, int n) {
        byte[] b = new byte[n];
        m.bus.ram.get((int) at, b);
        return b;
    }

    @Test
    void translatedLoopsMatchTheInterpreter() {
        LongMode interpreted = run(0, LOOPS);
        LongMode translated = run(1, LOOPS);
        assertEquals(0, interpreted.platform.translator.translated());
        assertTrue(translated.platform.translator.translated() >= 3, "blocks translated");
        for (int i = 0; i < 16; i++) {
            assertEquals(interpreted.r(i), translated.r(i), "r" + i);
        }
        assertEquals(interpreted.s.rflags(), translated.s.rflags(), "rflags");
        assertEquals(interpreted.s.rip(), translated.s.rip(), "rip");
        assertEquals(interpreted.cpu.instructions(), translated.cpu.instructions(), "instructions executed");
        assertArrayEquals(memory(interpreted, 0x200000, 0x3000), memory(translated, 0x200000, 0x3000));
        assertArrayEquals(memory(interpreted, LongMode.STACK - 0x100, 0x100), memory(translated, LongMode.STACK - 0x100, 0x100));
    }

    @Test
    void aStoreIntoTheRunningBlockIsSeenAtTheNextInstruction() {
        // the loop patches its own MOV's immediate from 1 to 2 on the first pass: 1 + 9 * 2
        String src = """
                xor %ecx,%ecx
                xor %ebx,%ebx
                1: mov $1,%eax
                add %eax,%ebx
                movb $2,1b+1(%rip)
                inc %ecx
                cmp $10,%ecx
                jne 1b
                """;
        assertEquals(19, run(1, src).r(3));
        assertEquals(19, run(0, src).r(3));
    }

    @Test
    void aPageFaultInsideABlockIsPrecise() {
        // PD entry 8 and above are not present: 0x1000000 faults
        String src = """
                mov $1,%eax
                mov $2,%ebx
                mov $0x1000000,%rcx
                add %eax,%ebx
                mov (%rcx),%edx
                mov $3,%esi
                """;
        LongMode m = new LongMode(1);
        m.s.setGpr(6, 0x77);
        assertEquals(Cpu.Exit.HALTED, m.run(src + "\nhlt"));
        assertEquals(14, m.r(14), "#PF delivered");
        assertEquals(0x1000000, m.s.cr2());
        long frame = m.r(4);
        long faultRip = m.bus.read64(frame + 8);
        byte[] code = Asm.assemble(src, LongMode.CODE);
        // the faulting MOV is the 8b 11 two bytes before the last MOV (be 03 00 00 00)
        assertEquals(LongMode.CODE + code.length - 5 - 2, faultRip);
        assertEquals(1, m.r(0));
        assertEquals(3, m.r(3));
        assertEquals(0x77, m.r(6), "nothing after the fault ran");
        assertTrue(m.platform.translator.translated() >= 1);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anExitRequestEndsATranslatedLoop() throws Exception {
        LongMode m = new LongMode(1);
        m.bus.load(LongMode.CODE, Asm.assemble("1: inc %rax\njmp 1b", LongMode.CODE));
        Thread stopper = new Thread(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            m.cpu.requestExit();
        });
        stopper.start();
        Cpu.Exit exit = Cpu.Exit.BUDGET;
        while (exit == Cpu.Exit.BUDGET) {
            exit = m.cpu.run(Long.MAX_VALUE / 2);
        }
        stopper.join();
        assertEquals(Cpu.Exit.EXIT_REQUESTED, exit);
        assertTrue(m.r(0) > 0);
        assertEquals(m.cpu.instructions(), 2 * m.r(0) - (m.s.rip() == LongMode.CODE ? 0 : 1), "instructions counted exactly");
    }

    @Test
    void anInterruptIsTakenInsideATranslatedLoop() {
        LongMode m = new LongMode(1);
        m.bus.load(LongMode.CODE, Asm.assemble("sti\n1: inc %rax\njmp 1b", LongMode.CODE));
        assertEquals(Cpu.Exit.BUDGET, m.cpu.run(100_000));
        m.apic.pending.add(0x40);
        m.cpu.interruptPending();
        assertEquals(Cpu.Exit.HALTED, m.cpu.run(100_000));
        assertEquals(0x40, m.r(14));
        assertTrue(m.platform.translator.translated() >= 1);
    }

    @Test
    void aLoopAcrossAPageBoundaryRunsTranslated() {
        // the loop's INC straddles the boundary at CODE + 0x1000; its CMP and JNE lie in the next page
        String src = """
                xor %ecx,%ecx
                xor %ebx,%ebx
                jmp 1f
                .org 0xff8
                1: mov $1,%eax
                add %eax,%ebx
                inc %ecx
                cmp $1000,%ecx
                jne 1b
                """;
        LongMode interpreted = run(0, src);
        LongMode translated = run(1, src);
        assertEquals(1000, interpreted.r(3));
        assertEquals(1000, translated.r(3));
        assertEquals(interpreted.cpu.instructions(), translated.cpu.instructions());
        assertTrue(translated.cpu.interpreted() < 10, "the straddling loop ran translated, interpreted: "
                + translated.cpu.interpreted());
    }

    @Test
    void aStoreIntoTheNextPageDropsTheBlocksThatRunIntoIt() {
        // the block starting before the boundary holds the CMP after it; the first pass patches the CMP's
        // immediate (in the next page) from 10 to 5, so the loop ends after 5 passes
        String src = """
                xor %ecx,%ecx
                xor %ebx,%ebx
                jmp 1f
                .org 0xff8
                1: mov $1,%eax
                add %eax,%ebx
                inc %ecx
                2: cmp $10,%ecx
                jne 3f
                jmp 4f
                3: movb $5,2b+2(%rip)
                jmp 1b
                4:
                """;
        assertEquals(5, run(0, src).r(3));
        assertEquals(5, run(1, src).r(3));
    }

    @Test
    void aBlockWhoseFirstInstructionKeepsFaultingStaysTranslated() {
        // Demand paging as the kernel's decompressor does it: each pass unmaps 0x1000000 again, its first
        // instruction takes a #PF, the handler maps the page (to 0x200000) and returns to retry.
        String src = """
                mov $0x1000000,%rcx
                xor %r8d,%r8d
                1: mov (%rcx),%edx
                add $1,%r9
                movq $0,0x3040
                invlpg (%rcx)
                inc %r8
                cmp $20,%r8
                jne 1b
                hlt
                .org 0x800
                add $8,%rsp
                movq $0x200083,0x3040
                iretq
                """;
        LongMode m = new LongMode(1);
        m.setGate(14, LongMode.CODE + 0x800, 0, 0);
        assertEquals(Cpu.Exit.HALTED, m.run(src), () -> m.s.describe() + m.cpu.recentInstructions());
        assertEquals(20, m.r(8));
        assertEquals(20, m.r(9));
        byte[] code = Asm.assemble(src, LongMode.CODE);

        assertEquals((byte) 0x8b, code[10], "the loop starts with the faulting load");
        X86Platform.CodePage cp = m.platform.codePage(LongMode.CODE);
        Block b = cp.blocks[10];
        assertTrue(b != null && !(b instanceof Block.None), "the block at the faulting load is still translated: " + b);

    }
}
