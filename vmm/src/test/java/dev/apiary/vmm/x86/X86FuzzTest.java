package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A hostile guest owns the CPU: random instruction bytes over random page tables, descriptor tables and IDTs,
 * in every mode (real, 16- and 32-bit protected with and without paging, PAE, compatibility and 64-bit, at
 * CPL 0 and 3). The only outcomes are guest exceptions, a triple fault (SHUTDOWN, after which a reset runs
 * again) or a clean stop with a reason: never a Java exception, a run that does not return within its
 * instruction budget, or an access outside guest RAM and the buses (RAM is a bounds-checked buffer; the
 * buses here answer everything).
 *
 * <p>The seeded test runs a fixed number of random machines in every build; {@code JAZZER_FUZZ=1} makes
 * the {@link FuzzTest} explore with coverage guidance.
 */
class X86FuzzTest {
    private static final int RAM = 4 << 20;
    private static final int BUDGET = 5_000;

    /** Where the fuzz test's choices come from: Jazzer's data, or a seeded Random. */
    private interface Choices {
        int pick(int bound);

        long nextLong();

        void fill(byte[] b);
    }

    @FuzzTest(maxDuration = "60s")
    void anyGuestStopsCleanly(FuzzedDataProvider data) {
        runMachine(new Choices() {
            public int pick(int bound) {
                return data.consumeInt(0, bound - 1);
            }

            public long nextLong() {
                return data.consumeLong();
            }

            public void fill(byte[] b) {
                byte[] d = data.consumeBytes(b.length);
                System.arraycopy(d, 0, b, 0, d.length);
            }
        });
    }

    @Test
    void randomMachinesInEveryModeStopCleanly() {
        Random random = new Random(0xF022_86L);
        Choices choices = new Choices() {
            public int pick(int bound) {
                return random.nextInt(bound);
            }

            public long nextLong() {
                return random.nextLong();
            }

            public void fill(byte[] b) {
                random.nextBytes(b);
            }
        };
        for (int i = 0; i < 120; i++) runMachine(choices);
    }

    /** The machine modes a guest can be in. */
    private enum Mode { REAL, PROTECTED16, PROTECTED32, PAGED32, PAE32, COMPAT, LONG64 }

    private static void runMachine(Choices in) {
        ByteBuffer ram = ByteBuffer.allocate(RAM).order(ByteOrder.LITTLE_ENDIAN);
        FuzzBus bus = new FuzzBus(ram, in.nextLong());
        byte[] noise = new byte[64 * 1024];
        in.fill(noise);
        // Random bytes everywhere the guest may look: code, tables, stacks (repeated over the first MiBs).
        for (int off = 0; off < 2 << 20; off += noise.length) ram.put(off, noise);
        Mode mode = Mode.values()[in.pick(Mode.values().length)];
        boolean user = mode != Mode.REAL && in.pick(2) == 0;
        buildTables(ram, in, mode);

        X86Platform platform = new X86Platform(bus, new GuestClock());
        Cpu cpu = new Cpu(platform, LocalInterrupts.NONE, new CpuConfig(0, 0, 1));
        CpuState s = cpu.state();
        enter(s, in, mode, user);
        for (int i = 0; i < 16; i++) s.setGpr(i, in.pick(4) == 0 ? in.nextLong() : in.pick(1 << 21));
        s.setRip(0x1_0000 + in.pick(0x1000));
        // Any RFLAGS a guest could hold there: status flags, TF, IF, DF, IOPL, NT, AC, ID (not VM).
        s.setRflags(2 | in.nextLong() & 0x27_7FD5L);
        // SSE enabled half of the time (OSFXSR, OSXMMEXCPT), with any control words: unmasked exceptions too
        s.setCr4(s.cr4() | (in.pick(2) == 0 ? 0x600 : 0));
        s.fpu().mxcsr = in.pick(0x10000);
        s.fpu().fcw = in.pick(0x10000);

        for (int round = 0; round < 3; round++) {
            Cpu.Exit exit = cpu.run(BUDGET);
            assertNotNull(exit);
            if (exit == Cpu.Exit.SHUTDOWN) {
                // A triple fault: the machine resets the CPU, which must come back in real mode and run.
                cpu.reset();
                assertEquals(0xFFF0, cpu.state().rip());
            } else if (exit == Cpu.Exit.HALTED || exit == Cpu.Exit.WAITING_FOR_SIPI) {
                break;
            }
        }
        cpu.recentInstructions();
    }

    /** Page tables and descriptor tables with random flags, mostly pointing inside RAM, sometimes not. */
    private static void buildTables(ByteBuffer ram, Choices in, Mode mode) {
        // A chain of tables at 0x1000..0x8000 mapping 0..4 MiB (4 KiB or large pages), entries with random
        // flag bits, and the last level identity-mapping, so code at 0x10000 is reached in most machines.
        long flags = in.pick(4) == 0 ? in.nextLong() & 0x8000_0000_0000_0FFFL : 0x7;
        if (mode == Mode.PAGED32) {
            ram.putInt(0x1000, (int) (0x2000 | flags));
            for (int i = 0; i < 1024; i++) ram.putInt(0x2000 + 4 * i, (int) ((long) i << 12 | flags & 0xFFF | 1));
        } else {
            ram.putLong(0x1000, 0x2000 | flags);
            ram.putLong(0x2000, 0x3000 | flags);
            ram.putLong(0x3000, 0x4000 | flags);
            ram.putLong(0x3008, 0x20_0000L | 0x83 | flags & 0x8000_0000_0000_0000L);
            for (int i = 0; i < 512; i++) ram.putLong(0x4000 + 8 * i, (long) i << 12 | (in.pick(16) == 0 ? flags : 3));
        }
        // GDT at 0x8000: null, flat code/data of every kind (64-bit, 32-bit, 16-bit, DPL 0 and 3), then noise.
        long[] gdt = {0, 0x00AF_9B00_0000_FFFFL, 0x00CF_9300_0000_FFFFL, 0x00CF_9B00_0000_FFFFL,
                      0x008F_9B00_0000_FFFFL, 0x00AF_FB00_0000_FFFFL, 0x00CF_F300_0000_FFFFL, 0x00CF_FB00_0000_FFFFL,
                      0x0000_8B00_9000_0067L, 0};
        for (int i = 0; i < gdt.length; i++) ram.putLong(0x8000 + 8 * i, gdt[i]);
        // IDT at 0xA000: gates of random kinds to random selectors and targets, some good.
        for (int v = 0; v < 256; v++) {
            int e = 0xA000 + 16 * v;
            long target = 0x1_0000 + in.pick(0x1000);
            int selector = in.pick(4) == 0 ? in.pick(0x10000) : 0x08;
            int type = in.pick(4) == 0 ? in.pick(0x10000) : 0x8E00 | in.pick(2) << 8 | in.pick(4) << 13;
            ram.putShort(e, (short) target);
            ram.putShort(e + 2, (short) selector);
            ram.putShort(e + 4, (short) type);
            ram.putShort(e + 6, (short) (target >>> 16));
            ram.putLong(e + 8, in.pick(8) == 0 ? in.nextLong() : 0);
        }
        // Real-mode IVT at 0: vectors into the code page.
        for (int v = 0; v < 256; v++) ram.putInt(4 * v, 0x1000_0000 | in.pick(0x1000));
    }

    private static void enter(CpuState s, Choices in, Mode mode, boolean user) {
        long gdtBase = in.pick(8) == 0 ? in.nextLong() : 0x8000;
        s.setGdtr(gdtBase, in.pick(8) == 0 ? in.pick(0x10000) : 0x4F);
        s.setIdtr(in.pick(8) == 0 ? in.nextLong() : 0xA000, in.pick(8) == 0 ? in.pick(0x10000) : 0xFFF);
        int codeAttr, dataAttr = 0xC093;
        int dpl = user ? 3 : 0;
        switch (mode) {
            case REAL -> {
                s.setCr0(0x6000_0010L);
                for (int seg = 0; seg < 6; seg++) s.setSegment(seg, 0x1000, 0x1_0000, 0xFFFF, seg == CpuState.CS ? 0x9B : 0x93);
                s.setRip(in.pick(0x1000));
                return;
            }
            case PROTECTED16 -> {
                s.setCr0(0x11);
                codeAttr = 0x9B;
                dataAttr = 0x93;
            }
            case PROTECTED32 -> {
                s.setCr0(0x11);
                codeAttr = 0xC09B;
            }
            case PAGED32 -> {
                s.setCr0(0x8001_0011L | (in.pick(2) == 0 ? 0x4_0000L : 0));
                s.setCr4(in.pick(2) == 0 ? 0x10 : 0); // PSE sometimes
                s.setCr3(in.pick(8) == 0 ? in.nextLong() & 0xFFFF_F000L : 0x1000);
                codeAttr = 0xC09B;
            }
            case PAE32 -> {
                s.setCr0(0x8001_0011L);
                s.setCr4(0x20);
                s.setCr3(0x2000);
                s.setEfer(in.pick(2) == 0 ? 0x800 : 0);
                codeAttr = 0xC09B;
            }
            case COMPAT, LONG64 -> {
                s.setCr0(0x8005_0033L);
                s.setCr4(0x20 | (in.pick(2) == 0 ? 0x80 : 0));
                s.setCr3(in.pick(8) == 0 ? in.nextLong() & 0x000F_FFFF_FFFF_F000L : 0x1000);
                s.setEfer(0xD01);
                codeAttr = mode == Mode.LONG64 ? 0xA09B : 0xC09B;
            }
            default -> throw new IllegalStateException();
        }
        int rpl = user ? 3 : 0;
        s.setSegment(CpuState.CS, (user ? 0x28 : 0x08) | rpl, 0, 0xFFFF_FFFFL, codeAttr | dpl << 5);
        for (int seg : new int[] {CpuState.ES, CpuState.SS, CpuState.DS, CpuState.FS, CpuState.GS}) {
            s.setSegment(seg, (user ? 0x30 : 0x10) | rpl, 0, 0xFFFF_FFFFL, dataAttr | dpl << 5);
        }
        s.setSegment(CpuState.TR, 0x40, 0x9000, 0x67, 0x8B);
        s.setSegment(CpuState.LDTR, 0, 0, 0, 0x1_0082);
    }

    /** Answers every MMIO and port access with noise (guest-visible device values are not the point). */
    private static final class FuzzBus implements CpuBus {
        private final ByteBuffer ram;
        private final Random noise;

        FuzzBus(ByteBuffer ram, long seed) {
            this.ram = ram;
            this.noise = new Random(seed);
        }

        public ByteBuffer ramChunk(int gib) {
            return gib == 0 ? ram : null;
        }

        public int ramChunkCount() {
            return 1;
        }

        public long mmioRead(long physical, int size) {
            return noise.nextLong();
        }

        public void mmioWrite(long physical, int size, long value) {}

        public long portIn(int port, int size) {
            return noise.nextInt();
        }

        public void portOut(int port, int size, long value) {}
    }
}
