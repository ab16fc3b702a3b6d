package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Paging and the TLB, exception and interrupt delivery, privilege changes, mode transitions, SIPI. */
class SystemTest {
    /** Maps 4 KiB pages at 0x400000.. through a page table at 0x6000 (PD entry 2); returns the PTE address. */
    private static long mapSmallPages(LongMode m) {
        m.bus.write64(LongMode.PD + 16, 0x6000 | 7);
        for (int i = 0; i < 512; i++) {
            m.bus.write64(0x6000 + 8L * i, (0x400000L + 4096L * i) | 7);
        }
        return 0x6000;
    }

    @Test
    void pageWalkSetsAccessedAndDirtyBits() {
        LongMode m = new LongMode();
        long pt = mapSmallPages(m);
        m.run("movq $1,0x401000\nmov 0x402000,%rax\nhlt");
        assertEquals(0x67, m.bus.read64(pt + 8) & 0x67); // A and D
        assertEquals(0x27, m.bus.read64(pt + 16) & 0x67); // A only
        assertEquals(0x20, m.bus.read64(LongMode.PML4) & 0x20);
    }

    @Test
    void pageFaultsReportErrorCodeAndCr2() {
        LongMode m = new LongMode();
        long pt = mapSmallPages(m);
        m.bus.write64(pt + 8 * 3, 0); // 0x403000 not present
        m.run("mov 0x403010,%rax\nhlt");
        assertEquals(14, m.r(14));
        assertEquals(0x403010, m.s.cr2());
        assertEquals(0, m.bus.read64(m.r(4))); // error code: not present, read, supervisor
        assertEquals(LongMode.CODE, m.bus.read64(m.r(4) + 8));
    }

    @Test
    void userWriteToReadOnlyPageAndNxFetch() {
        LongMode m = new LongMode();
        long pt = mapSmallPages(m);
        m.bus.write64(pt + 8 * 4, 0x404000L | 5); // present, user, read-only
        m.bus.load(0x300000, Asm.assemble("movq $1,0x404000\nhlt", 0x300000));
        m.user(0x300000, 0x380000);
        m.cpu.run(1000);
        assertEquals(14, m.r(14));
        assertEquals(7, m.bus.read64(m.r(4))); // present, write, user
        assertEquals(LongMode.RSP0 - 48, m.r(4)); // error code + 5-word frame on RSP0
        assertEquals(LongMode.UCODE | 3, m.bus.read64(m.r(4) + 16));
        assertEquals(0x380000, m.bus.read64(m.r(4) + 32));

        LongMode n = new LongMode();
        long pt2 = mapSmallPages(n);
        n.bus.write64(pt2 + 8 * 5, 0x405000L | 7 | (1L << 63));
        n.bus.ram.put(0x405000, (byte) 0xF4);
        n.run("jmp *%rax\nhlt".replace("jmp *%rax", "mov $0x405000,%eax\njmp *%rax"));
        assertEquals(14, n.r(14));
        assertEquals(0x11, n.bus.read64(n.r(4))); // present, instruction fetch
        assertEquals(0x405000, n.s.cr2());
    }

    @Test
    void pageCrossingStoreFaultsOnTheSecondPageBeforeWriting() {
        LongMode m = new LongMode();
        long pt = mapSmallPages(m);
        m.bus.write64(pt + 8 * 2, 0); // 0x402000 not present
        m.bus.write64(0x401FF8, 0x1111111111111111L);
        m.run("mov $0x2222222222222222,%rax\nmov %rax,0x401ffc\nhlt");
        assertEquals(14, m.r(14));
        assertEquals(0x402000, m.s.cr2());
        assertEquals(2, m.bus.read64(m.r(4))); // not present, write
        assertEquals(0x1111111111111111L, m.bus.read64(0x401FF8));
    }

    @Test
    void paePagingInProtectedMode() {
        TestBus bus = new TestBus(8);
        // PDPT at 0x1000 -> PD 0x2000: 2 MiB page 0 identity, 2 MiB page at linear 0x40000000 -> phys 0x400000
        bus.write64(0x1000, 0x2001);
        bus.write64(0x1008, 0x3001);
        bus.write64(0x2000, 0x83);
        bus.write64(0x3000, 0x400083);
        bus.write64(0x400010, 0xABCD);
        bus.load(0x10000, Asm.assemble(".code32\nmov 0x40000010,%eax\nmovl $5,0x40000020\nhlt", 0x10000));
        X86Platform platform = new X86Platform(bus, new GuestClock());
        Cpu cpu = new Cpu(platform, LocalInterrupts.NONE, new CpuConfig(0, 0, 1));
        CpuState s = cpu.state();
        s.setCr4(0x20);
        s.setCr3(0x1000);
        s.setCr0(0x80000011L);
        s.setSegment(CpuState.CS, 0x08, 0, 0xFFFF_FFFFL, 0xC09B);
        for (int seg : new int[] {CpuState.ES, CpuState.SS, CpuState.DS}) {
            s.setSegment(seg, 0x10, 0, 0xFFFF_FFFFL, 0xC093);
        }
        s.setRip(0x10000);
        assertEquals(Cpu.Exit.HALTED, cpu.run(100), () -> s.describe() + cpu.recentInstructions());
        assertEquals(0xABCD, s.gpr(0));
        assertEquals(5, bus.read64(0x400020));
        assertEquals(0x40, bus.read64(0x3000) & 0x40); // dirty
    }

    @Test
    void tlbKeepsStaleEntriesUntilInvlpgAndCr3KeepsGlobalPages() {
        LongMode m = new LongMode();
        long pt = mapSmallPages(m);
        m.bus.write64(0x401000, 111);
        m.bus.write64(0x402000, 222);
        m.bus.write64(pt + 8 * 7, 0x407000L | 7 | 0x100); // global (TLB slot 7: not shared with the table's page)
        m.bus.write64(0x407000, 333);
        m.run("mov 0x401000,%rax\nmovq $0x402007,0x6008\nmov 0x401000,%rbx\ninvlpg 0x401000\nmov 0x401000,%rcx\n"
                + "mov 0x407000,%rdx\nmovq $0x401007,0x6038\nmov %cr3,%rsi\nmov %rsi,%cr3\nmov 0x407000,%rdi\n"
                + "mov %cr4,%rsi\nmov %rsi,%cr4\nmov 0x407000,%r8\nhlt");
        assertEquals(111, m.r(0));
        assertEquals(111, m.r(3));
        assertEquals(222, m.r(1));
        assertEquals(333, m.r(2));
        assertEquals(333, m.r(7)); // global: survives the CR3 write
        assertEquals(111, m.r(8)); // CR4 write flushes everything
    }

    @Test
    void interruptStackTableAndPrivilegeChange() {
        LongMode m = new LongMode();
        m.setGate(6, LongMode.STUBS + 16 * 6, 0, 1); // #UD on IST1
        m.bus.load(0x300000, Asm.assemble("ud2", 0x300000));
        m.user(0x300000, 0x380000);
        assertEquals(Cpu.Exit.HALTED, m.cpu.run(1000));
        assertEquals(6, m.r(14));
        assertEquals(LongMode.IST1 - 40, m.r(4));
        assertEquals(0x300000, m.bus.read64(m.r(4)));
        assertEquals(LongMode.UDATA | 3, m.bus.read64(m.r(4) + 32));
        assertEquals(0, m.s.cpl());
    }

    @Test
    void userPortIoWithoutPermissionIsGeneralProtection() {
        LongMode m = new LongMode();
        m.bus.load(0x300000, Asm.assemble("out %al,$0x80", 0x300000));
        m.user(0x300000, 0x380000);
        m.cpu.run(1000);
        assertEquals(13, m.r(14));
        assertTrue(m.bus.io.isEmpty());
    }

    @Test
    void syscallSysretAndIretqRoundTrip() {
        LongMode m = new LongMode();
        m.s.setMsr(0xC0000081, ((long) (LongMode.UCODE32 | 3) << 48) | ((long) LongMode.KCODE << 32));
        m.s.setMsr(0xC0000082, 0x310000);
        m.s.setMsr(0xC0000084, 0x200);
        m.bus.load(0x310000, Asm.assemble("mov %rsp,%r12\nmov $0x7777,%r13\nsysretq", 0x310000));
        m.bus.load(0x300000, Asm.assemble("mov $1,%eax\nsyscall\nmov %r13,%rbx\nint $0x80", 0x300000));
        m.setGate(0x80, LongMode.STUBS + 16 * 0x80, 3, 0);
        m.user(0x300000, 0x380000);
        m.s.setRflags(0x202);
        m.cpu.run(1000);
        assertEquals(0x7777, m.r(3));
        assertEquals(0x80, m.r(14));
        assertEquals(0x300000 + 5 + 2 + 3 + 2, m.bus.read64(m.r(4)));
    }

    @Test
    void sysretToNonCanonicalRcxFaultsAtCpl0() {
        LongMode m = new LongMode();
        m.s.setMsr(0xC0000081, ((long) (LongMode.UCODE32 | 3) << 48) | ((long) LongMode.KCODE << 32));
        m.run("mov $0x0000800000000000,%rcx\nsysretq\nhlt");
        assertEquals(13, m.r(14));
        assertEquals(0, m.s.cpl());
    }

    @Test
    void stiShadowDelaysTheInterruptByOneInstruction() {
        LongMode m = new LongMode();
        m.apic.pending.add(0x40);
        m.run("sti\nmov $1,%eax\nmov $2,%ebx\nhlt");
        assertEquals(0x40, m.r(14));
        assertEquals(1, m.r(0));
        assertEquals(0, m.r(3));
        assertEquals(LongMode.CODE + 1 + 5, m.bus.read64(m.r(4)));
    }

    @Test
    void haltedCpuWakesForAnInterrupt() {
        LongMode m = new LongMode();
        assertEquals(Cpu.Exit.HALTED, m.run("sti\nhlt\nmov $5,%eax\nhlt"));
        m.apic.pending.add(0x41);
        m.cpu.interruptPending();
        m.cpu.awaitEvent(Long.MAX_VALUE); // returns at once: the signal came first
        assertEquals(Cpu.Exit.HALTED, m.cpu.run(1000));
        assertEquals(0x41, m.r(14));
        assertEquals(LongMode.CODE + 2, m.bus.read64(m.r(4)));
    }

    @Test
    void trapFlagSingleStepsAfterTheNextInstruction() {
        LongMode m = new LongMode();
        m.run("pushfq\norq $0x100,(%rsp)\npopfq\nmov $1,%eax\nmov $2,%ebx\nhlt");
        assertEquals(1, m.r(14));
        assertEquals(1, m.r(0));
        assertEquals(0, m.r(3));
        assertEquals(LongMode.CODE + 1 + 8 + 1 + 5, m.bus.read64(m.r(4)));
    }

    @Test
    void missingHandlersEndInTripleFault() {
        LongMode m = new LongMode();
        m.s.setIdtr(LongMode.IDT, 0);
        assertEquals(Cpu.Exit.SHUTDOWN, m.run("ud2"));
    }

    @Test
    void doubleFaultWhenGeneralProtectionHandlerIsNotPresent() {
        LongMode m = new LongMode();
        m.bus.write64(LongMode.IDT + 16 * 13, m.bus.read64(LongMode.IDT + 16 * 13) & ~(1L << 47));
        m.bus.write64(LongMode.IDT + 16 * 11, m.bus.read64(LongMode.IDT + 16 * 11) & ~(1L << 47));
        m.run("mov $0x8000000000000000,%rax\nmov (%rax),%rax\nhlt");
        assertEquals(8, m.r(14));
    }

    @Test
    void realModeToProtectedToLongMode() {
        TestBus bus = new TestBus(4);
        // page tables: PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 (2 MiB identity)
        bus.write64(0x1000, 0x2003);
        bus.write64(0x2000, 0x3003);
        bus.write64(0x3000, 0x83);
        String src = ".code16\n"
                + "cli\nxor %ax,%ax\nmov %ax,%ds\nlgdtl gdtd\nmov %cr0,%eax\nor $1,%eax\nmov %eax,%cr0\n"
                + "ljmpl $0x08,$p32\n"
                + ".code32\np32: mov $0x10,%eax\nmov %eax,%ds\nmov %eax,%ss\nmov $0x7000,%esp\n"
                + "mov %cr4,%eax\nor $0x20,%eax\nmov %eax,%cr4\nmov $0x1000,%eax\nmov %eax,%cr3\n"
                + "mov $0xc0000080,%ecx\nrdmsr\nor $0x100,%eax\nwrmsr\nmov %cr0,%eax\nor $0x80000000,%eax\nmov %eax,%cr0\n"
                + "ljmp $0x18,$p64\n"
                + ".code64\np64: mov $0x123456789,%rax\npush %rax\npop %rbx\nhlt\n"
                + ".balign 8\ngdt: .quad 0,0x00cf9b000000ffff,0x00cf93000000ffff,0x00af9b000000ffff\n"
                + "gdtd: .word 31\n.long gdt\n";
        bus.load(0x7C00, Asm.assemble(src, 0x7C00));
        X86Platform platform = new X86Platform(bus, new GuestClock());
        Cpu cpu = new Cpu(platform, LocalInterrupts.NONE, new CpuConfig(0, 0, 1));
        CpuState s = cpu.state();
        s.setSegment(CpuState.CS, 0, 0, 0xFFFF, 0x9B);
        s.setRip(0x7C00);
        assertEquals(Cpu.Exit.HALTED, cpu.run(10_000), () -> s.describe() + cpu.recentInstructions());
        assertEquals(0x123456789L, s.gpr(3));
        assertEquals(0x500, s.efer() & 0x500);
        assertEquals(0x18, s.selector(CpuState.CS));
    }

    /**
     * Firmware as OVMF starts it: the first fetch at 0xFFFFFFF0 (CS base 0xFFFF0000, IP 0xFFF0) from a ROM below
     * 4 GiB, a near jump back into the ROM, a loop there. The ROM's code is decoded once and then cached like
     * RAM's (the bus sees a bounded number of reads however often the loop runs); a store into the ROM goes to
     * the bus and does not change the code.
     */
    @Test
    void firmwareRunsFromRomAtTheResetVector() {
        TestBus bus = new TestBus(4);
        byte[] rom = new byte[0x10000];
        byte[] main = Asm.assemble(".code16\nxor %ax,%ax\nmov %ax,%ds\nmov $5000,%cx\n"
                + "1: incw 0x500\nloop 1b\nmovb $0x90,%cs:0xff00\nincw 0x502\nhlt\n", 0xFF00);
        System.arraycopy(main, 0, rom, 0xFF00, main.length);
        int rel = 0xFF00 - (0xFFF0 + 3);
        byte[] reset = {(byte) 0xE9, (byte) rel, (byte) (rel >> 8)}; // jmp near 0xff00, as OVMF's reset vector jumps
        System.arraycopy(reset, 0, rom, 0xFFF0, reset.length);
        bus.mapRom(rom);
        X86Platform platform = new X86Platform(bus, new GuestClock(), 0);
        Cpu cpu = new Cpu(platform, LocalInterrupts.NONE, new CpuConfig(0, 0, 1));
        CpuState s = cpu.state();
        assertEquals(Cpu.Exit.HALTED, cpu.run(100_000), () -> s.describe() + cpu.recentInstructions());
        assertEquals(5000, bus.ram.getShort(0x500));
        assertEquals(1, bus.ram.getShort(0x502));
        assertEquals(java.util.List.of("ffffff00=90"), bus.romWrites);
        assertTrue(bus.romReads < 200, "ROM code decoded once, not per execution: " + bus.romReads + " reads");
        assertEquals(0xFFFF0000L, s.segmentBase(CpuState.CS));
    }

    @Test
    void apWaitsForSipiAndStartsInRealMode() {
        TestBus bus = new TestBus(4);
        bus.load(0x8000, Asm.assemble(".code16\nmov %cs,%ax\nmov $0x55,%bl\nhlt", 0x8000));
        X86Platform platform = new X86Platform(bus, new GuestClock());
        Cpu ap = new Cpu(platform, LocalInterrupts.NONE, new CpuConfig(1, 1, 2));
        assertEquals(Cpu.Exit.WAITING_FOR_SIPI, ap.run(1000));
        ap.startup(0x08);
        assertEquals(Cpu.Exit.HALTED, ap.run(1000));
        assertEquals(0x800, ap.state().gpr(0) & 0xFFFF);
        assertEquals(0x55, ap.state().gpr(3) & 0xFF);
        ap.init();
        assertEquals(Cpu.Exit.WAITING_FOR_SIPI, ap.run(1000));
    }

    @Test
    void requestExitStopsAtTheNextBoundary() {
        LongMode m = new LongMode();
        m.cpu.requestExit();
        assertEquals(Cpu.Exit.EXIT_REQUESTED, m.run("1: jmp 1b"));
        assertEquals(Cpu.Exit.BUDGET, m.cpu.run(1000));
    }

    @Test
    void resetStateMatchesTheSdm() {
        LongMode m = new LongMode();
        m.cpu.reset();
        assertEquals(0xFFF0, m.s.rip());
        assertEquals(0xF000, m.s.selector(CpuState.CS));
        assertEquals(0xFFFF0000L, m.s.segmentBase(CpuState.CS));
        assertEquals(0x60000010L, m.s.cr0());
        assertEquals(2, m.s.rflags());
        assertEquals(Cpuid.signature(), m.s.gpr(2));
    }
}
