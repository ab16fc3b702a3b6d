package dev.apiary.vmm.x86;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A CPU set up directly in 64-bit mode for tests: identity-mapped first 16 MiB (2 MiB user pages), a GDT with
 * kernel and user segments and a TSS (RSP0 0x9000, IST1 0xA000), an IDT whose handler for vector v, at
 * 0x5000 + 16 v, loads v into R14 and halts. Code goes at 1 MiB, the stack top is 0x80000.
 */
final class LongMode {
    static final long CODE = 0x100000, STACK = 0x80000, RSP0 = 0x9000, IST1 = 0xA000, STUBS = 0x5000;
    static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, IDT = 0x4000, GDT = 0x500, TSS = 0x800;
    static final int KCODE = 0x08, KDATA = 0x10, UCODE32 = 0x18, UDATA = 0x20, UCODE = 0x28, TSS_SEL = 0x30;

    final TestBus bus = new TestBus(16);
    final X86Platform platform;
    final QueueApic apic = new QueueApic();
    final Cpu cpu;
    final CpuState s;

    /** A local APIC stand-in: a queue of vectors. */
    static final class QueueApic implements LocalInterrupts {
        final Deque<Integer> pending = new ArrayDeque<>();
        int cr8;

        public boolean hasInterrupt() {
            return !pending.isEmpty();
        }

        public int acknowledge() {
            return pending.isEmpty() ? -1 : pending.poll();
        }

        public long poll(long nowNanos) {
            return Long.MAX_VALUE;
        }

        public long apicBase() {
            return 0xFEE0_0900L;
        }

        public boolean setApicBase(long value) {
            return true;
        }

        public int cr8() {
            return cr8;
        }

        public void setCr8(int value) {
            cr8 = value;
        }

        public long tscDeadline() {
            return 0;
        }

        public void setTscDeadline(long tsc) {}
    }

    LongMode() {
        this(-1);
    }

    /** With the translator's threshold set (0: interpreter only; 1: every block translated when first reached). */
    LongMode(int translateThreshold) {
        platform = translateThreshold < 0 ? new X86Platform(bus, new GuestClock())
                : new X86Platform(bus, new GuestClock(), translateThreshold);
        cpu = new Cpu(platform, apic, new CpuConfig(0, 0, 1));
        s = cpu.state();
        bus.write64(PML4, PDPT | 7);
        bus.write64(PDPT, PD | 7);
        for (int i = 0; i < 8; i++) {
            bus.write64(PD + 8L * i, ((long) i << 21) | 0x87);
        }
        long[] gdt = {0, 0x00AF9B000000FFFFL, 0x00CF93000000FFFFL, 0x00CFFB000000FFFFL, 0x00CFF3000000FFFFL,
            0x00AFFB000000FFFFL};
        for (int i = 0; i < gdt.length; i++) {
            bus.write64(GDT + 8L * i, gdt[i]);
        }
        long tssLimit = 103;
        bus.write64(GDT + TSS_SEL, tssLimit | ((TSS & 0xFFFFFF) << 16) | (0x89L << 40));
        bus.write64(GDT + TSS_SEL + 8, 0);
        bus.write64(TSS + 4, RSP0);
        bus.write64(TSS + 0x24, IST1);
        bus.ram.putShort((int) TSS + 102, (short) 104);
        for (int v = 0; v < 256; v++) {
            setGate(v, STUBS + 16L * v, 0, 0);
            int stub = (int) (STUBS + 16L * v);
            bus.ram.put(stub, (byte) 0x41).put(stub + 1, (byte) 0xBE).putInt(stub + 2, v).put(stub + 6, (byte) 0xF4);
        }
        s.setCr0(0x80010033L);
        s.setCr4(0xA0);
        s.setEfer(0xD01);
        s.setCr3(PML4);
        s.setGdtr(GDT, 0x3F);
        s.setIdtr(IDT, 256 * 16 - 1);
        s.setSegment(CpuState.CS, KCODE, 0, 0xFFFF_FFFFL, 0xA09B);
        for (int seg : new int[] {CpuState.ES, CpuState.SS, CpuState.DS, CpuState.FS, CpuState.GS}) {
            s.setSegment(seg, KDATA, 0, 0xFFFF_FFFFL, 0xC093);
        }
        s.setSegment(CpuState.TR, TSS_SEL, TSS, tssLimit, 0x8B);
        s.setSegment(CpuState.LDTR, 0, 0, 0, 0x10000);
        s.setGpr(4, STACK);
        s.setRip(CODE);
        s.setRflags(2);
    }

    void setGate(int vector, long handler, int dpl, int ist) {
        long lo = (handler & 0xFFFF) | ((long) KCODE << 16) | ((long) ist << 32) | ((0x8EL | (dpl << 5)) << 40)
                | ((handler >>> 16 & 0xFFFF) << 48);
        bus.write64(IDT + 16L * vector, lo);
        bus.write64(IDT + 16L * vector + 8, handler >>> 32);
    }

    /** Assembles {@code source} at CODE, runs until the CPU halts (or another exit); returns the exit. */
    Cpu.Exit run(String source) {
        bus.load(CODE, Asm.assemble(source, CODE));
        return cpu.run(1_000_000);
    }

    /** Switches to CPL3 64-bit code at {@code rip} with user stack {@code rsp}. */
    void user(long rip, long rsp) {
        s.setSegment(CpuState.CS, UCODE | 3, 0, 0xFFFF_FFFFL, 0xA0FB);
        s.setSegment(CpuState.SS, UDATA | 3, 0, 0xFFFF_FFFFL, 0xC0F3);
        s.setGpr(4, rsp);
        s.setRip(rip);
    }

    long r(int i) {
        return s.gpr(i);
    }
}
