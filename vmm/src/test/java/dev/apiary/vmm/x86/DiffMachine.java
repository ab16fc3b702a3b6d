package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.DiffLayout.CODE;
import static dev.apiary.vmm.x86.DiffLayout.DATA;
import static dev.apiary.vmm.x86.DiffLayout.DATA_SIZE;
import static dev.apiary.vmm.x86.DiffLayout.STACK;
import static dev.apiary.vmm.x86.DiffLayout.STACK_SHOWN;
import static dev.apiary.vmm.x86.DiffLayout.STACK_TOP;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The emulated side of the differential tests: the software CPU in 64-bit mode at CPL0 over 8 MiB of test
 * RAM, with 4-level page tables that map exactly what the native harness maps (code, data, stack) at the
 * same linear addresses, a GDT, and an IDT whose every vector points at its own HLT. A case's bytes run
 * followed by HLT: halting after the case is a completion, halting in a vector's stub is that exception,
 * whose frame (SDM Vol. 3A 6.14.1) gives the faulting RIP, RFLAGS and RSP.
 */
final class DiffMachine implements CpuBus {
    static final int RAM = 8 << 20;
    static final long SYSTEM = 0x60_0000;
    static final long GDT = SYSTEM;
    static final long IDT = SYSTEM + 0x1000;
    static final long STUBS = SYSTEM + 0x2000;
    static final long PML4 = 0x50_0000;
    /** Vectors whose frame carries an error code (SDM Vol. 3A Table 6-1). */
    private static final long ERROR_CODE_VECTORS = 1L << 8 | 1L << 10 | 1L << 11 | 1L << 12 | 1L << 13
            | 1L << 14 | 1L << 17 | 1L << 21 | 1L << 29 | 1L << 30;
    static final int HANG = 256, SHUTDOWN = 257;

    private final ByteBuffer ram = ByteBuffer.allocateDirect(RAM).order(ByteOrder.LITTLE_ENDIAN);
    private final X86Platform platform;
    private final Cpu cpu;
    /** Accesses outside RAM: a case never makes one, so any is a failure of the emulator. */
    private final StringBuilder strayAccesses = new StringBuilder();

    DiffMachine() {
        this(-1);
    }

    /** With the translator's threshold (-1: the default; 0: interpreter only; 1: every block translated). */
    DiffMachine(int translateThreshold) {
        platform = translateThreshold < 0 ? new X86Platform(this, new GuestClock())
                : new X86Platform(this, new GuestClock(), translateThreshold);
        cpu = new Cpu(platform, LocalInterrupts.NONE, new CpuConfig(0, 0, 1));
        buildSystemTables();
    }

    Cpu cpu() {
        return cpu;
    }

    String strayAccesses() {
        return strayAccesses.toString();
    }

    private void buildSystemTables() {
        // Page tables: PML4[0] -> PDPT -> PD; PD[n] -> PT n for each 2 MiB of the first 8 MiB.
        long pdpt = PML4 + 0x1000, pd = PML4 + 0x2000, pt = PML4 + 0x3000;
        ram.putLong((int) PML4, pdpt | 3);
        ram.putLong((int) pdpt, pd | 3);
        for (int i = 0; i < 4; i++) ram.putLong((int) pd + 8 * i, pt + 0x1000L * i | 3);
        map(pt, CODE, 0x1_0000);
        map(pt, DATA, 0x1000);
        map(pt, STACK, 0x1_0000);
        map(pt, SYSTEM, 0x3000);
        // GDT: null, 0x08 64-bit code DPL0, 0x10 data.
        ram.putLong((int) GDT + 8, 0x00AF_9B00_0000_FFFFL);
        ram.putLong((int) GDT + 16, 0x00CF_9300_0000_FFFFL);
        // IDT: 64-bit interrupt gates (SDM Vol. 3A 6.14.1), vector v at STUBS + 4v, which holds HLT.
        for (int v = 0; v < 256; v++) {
            long target = STUBS + 4L * v;
            int e = (int) IDT + 16 * v;
            ram.putShort(e, (short) target);
            ram.putShort(e + 2, (short) 0x08);
            ram.putShort(e + 4, (short) 0x8E00);
            ram.putShort(e + 6, (short) (target >>> 16));
            ram.putInt(e + 8, (int) (target >>> 32));
            ram.put((int) target, (byte) 0xF4);
        }
    }

    private void map(long pt, long linear, long size) {
        for (long a = linear; a < linear + size; a += 0x1000) {
            ram.putLong((int) (pt + (a >>> 12) * 8), a | 3);
        }
    }

    /** Puts the CPU in flat 64-bit mode at CPL0 with this machine's tables. */
    private void enterLongMode() {
        cpu.reset();
        CpuState s = cpu.state();
        s.setCr0(0x8005_0033L); // PG AM WP NE ET MP PE, as Linux runs
        s.setCr4(0x6A0); // PAE, PGE, OSFXSR, OSXMMEXCPT
        s.setCr3(PML4);
        s.setEfer(0xD01); // SCE, LME, LMA, NXE
        s.setGdtr(GDT, 23);
        s.setIdtr(IDT, 256 * 16 - 1);
        s.setSegment(CpuState.CS, 0x08, 0, 0xFFFF_FFFFL, 0xA09B);
        for (int seg : new int[] {CpuState.ES, CpuState.SS, CpuState.DS, CpuState.FS, CpuState.GS}) {
            s.setSegment(seg, 0x10, 0, 0xFFFF_FFFFL, 0xC093);
        }
        s.setSegment(CpuState.LDTR, 0, 0, 0, 0x1_0082);
        s.setSegment(CpuState.TR, 0, 0, 0x67, 0x8B);
    }

    /** Runs one case: its bytes at CODE followed by HLT, from the case's registers, flags and data. */
    DiffOutcome run(DiffCase c, byte[] code) {
        for (int i = 0; i < 0x1_0000; i++) ram.put((int) CODE + i, (byte) 0xF4);
        for (int i = 0; i < code.length; i++) ram.put((int) CODE + i, code[i]);
        for (int i = 0; i < 0x1000; i++) ram.put((int) DATA + i, i < DATA_SIZE ? c.data()[i] : 0);
        for (int i = 0; i < 0x1_0000; i++) ram.put((int) STACK + i, (byte) 0);
        platform.invalidateCode(CODE, 0x1_0000);
        enterLongMode();
        CpuState s = cpu.state();
        for (int i = 0; i < 16; i++) s.setGpr(i, c.gprs()[i]);
        s.setRip(CODE);
        s.setRflags(c.rflags());
        if (!s.fpu().fxrstor(c.fpu(), true)) throw new IllegalArgumentException("case with a reserved MXCSR bit");

        Cpu.Exit exit = cpu.run(1_000_000);
        long[] g = new long[16];
        for (int i = 0; i < 16; i++) g[i] = s.gpr(i);
        byte[] fpu = new byte[512];
        s.fpu().fxsave(fpu, true);
        if (exit == Cpu.Exit.SHUTDOWN) return DiffOutcome.fault(SHUTDOWN, s.rip(), s.rflags(), g, fpu);
        if (exit != Cpu.Exit.HALTED) return DiffOutcome.fault(HANG, s.rip(), s.rflags(), g, fpu);
        long rip = s.rip() - 1;
        if (rip >= STUBS && rip < STUBS + 4 * 256) {
            int vector = (int) ((rip - STUBS) / 4);
            int frame = (int) g[4] + ((ERROR_CODE_VECTORS >>> vector & 1) != 0 && vector < 32 ? 8 : 0);
            if (frame < STACK || frame + 40 > STACK + 0x1_0000) return DiffOutcome.fault(vector, -1, 0, g, fpu);
            g[4] = ram.getLong(frame + 24);
            return DiffOutcome.fault(vector, ram.getLong(frame), ram.getLong(frame + 16), g, fpu);
        }
        if (rip != CODE + code.length) {
            // Halted somewhere else: a case never does that, so report where.
            return DiffOutcome.fault(HANG + 2, rip, s.rflags(), g, fpu);
        }
        byte[] data = new byte[DATA_SIZE];
        ram.get((int) DATA, data);
        byte[] stack = new byte[STACK_SHOWN];
        ram.get((int) (STACK_TOP - STACK_SHOWN), stack);
        return DiffOutcome.completed(s.rflags(), g, data, stack, fpu);
    }

    @Override
    public ByteBuffer ramChunk(int gib) {
        return gib == 0 ? ram : null;
    }

    @Override
    public int ramChunkCount() {
        return 1;
    }

    @Override
    public long mmioRead(long physical, int size) {
        strayAccesses.append(String.format("mmio read %x/%d; ", physical, size));
        return -1;
    }

    @Override
    public void mmioWrite(long physical, int size, long value) {
        strayAccesses.append(String.format("mmio write %x/%d; ", physical, size));
    }

    @Override
    public long portIn(int port, int size) {
        strayAccesses.append(String.format("in %x/%d; ", port, size));
        return -1;
    }

    @Override
    public void portOut(int port, int size, long value) {
        strayAccesses.append(String.format("out %x/%d; ", port, size));
    }
}
