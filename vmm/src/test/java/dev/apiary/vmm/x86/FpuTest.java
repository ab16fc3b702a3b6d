package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * What the differential tests cannot reach from user mode: how CR0.EM/TS/MP and CR4.OSFXSR/OSXMMEXCPT gate
 * the x87 and SSE (#NM, #UD, #XM), #MF delivery, FXSAVE/FXRSTOR through guest memory, RESET and FNINIT state
 * (SDM Vol. 3A 2.5, 9.1, 13.1, Table 12-8; Vol. 1 8.6, 11.5).
 */
class FpuTest {
    private static final long CR0 = 0x80010033L, EM = 4, TS = 8, MP = 2;
    private static final long OSFXSR = 0x200, OSXMMEXCPT = 0x400;

    /** Runs {@code src} with the given CR0/CR4 extras; returns the vector taken (R14) or -1 after HLT. */
    private static long vector(long cr0, long cr4, String src) {
        LongMode m = new LongMode();
        m.s.setCr0(cr0);
        m.s.setCr4(0xA0 | cr4);
        m.s.setGpr(14, -1);
        assertEquals(Cpu.Exit.HALTED, m.run(src + "\nhlt"), () -> m.s.describe() + m.cpu.recentInstructions());
        return m.r(14);
    }

    @Test
    void sseNeedsOsfxsrAndNoEmulation() {
        assertEquals(-1, vector(CR0, OSFXSR, "pxor %xmm0, %xmm1"));
        assertEquals(GuestFault.UD, vector(CR0, 0, "pxor %xmm0, %xmm1"));
        assertEquals(GuestFault.UD, vector(CR0 | EM, OSFXSR, "addps %xmm0, %xmm1"));
        assertEquals(GuestFault.NM, vector(CR0 | TS, OSFXSR, "movdqa %xmm0, %xmm1"));
        // fences, PAUSE, prefetches and MOVNTI are not SSE state: no #NM under TS
        assertEquals(-1, vector(CR0 | TS, OSFXSR, "lfence\nsfence\nmfence\npause\nprefetcht0 (%rsp)\nmovnti %eax, -8(%rsp)"));
    }

    @Test
    void x87IsGatedByEmAndTs() {
        assertEquals(-1, vector(CR0, 0, "fninit\nfld1\nfstp %st(0)"));
        assertEquals(GuestFault.NM, vector(CR0 | EM, 0, "fld1"));
        assertEquals(GuestFault.NM, vector(CR0 | TS, 0, "fld1"));
        assertEquals(GuestFault.NM, vector(CR0 | TS | MP, 0, "fwait"));
        assertEquals(-1, vector((CR0 | TS) & ~MP, 0, "fwait"));
        assertEquals(GuestFault.NM, vector(CR0 | TS, OSFXSR, "fxsave (%rsp)"));
        assertEquals(GuestFault.NM, vector(CR0 | EM, OSFXSR, "fxsave (%rsp)"));
    }

    @Test
    void unmaskedSimdExceptionIsXmOnlyWithOsxmmexcpt() {
        String divideByZero = "movl $0x1d80, -4(%rsp)\nldmxcsr -4(%rsp)\nxorps %xmm1, %xmm1\nmov $1, %eax\n"
                + "cvtsi2ss %eax, %xmm0\ndivss %xmm1, %xmm0";
        assertEquals(GuestFault.XM, vector(CR0, OSFXSR | OSXMMEXCPT, divideByZero));
        assertEquals(GuestFault.UD, vector(CR0, OSFXSR, divideByZero));
        assertEquals(GuestFault.GP, vector(CR0, OSFXSR, "movl $0x10000, -4(%rsp)\nldmxcsr -4(%rsp)"));
    }

    @Test
    void unmaskedX87ExceptionIsMfAtTheNextWaitingInstruction() {
        String src = "fninit\nmovw $0x37b, -2(%rsp)\nfldcw -2(%rsp)\nfldz\nfld1\nfdiv %st(1), %st\nmov $7, %r13\n";
        LongMode m = new LongMode();
        m.s.setGpr(14, -1);
        assertEquals(Cpu.Exit.HALTED, m.run(src + "fnstsw %ax\nfwait\nhlt"));
        assertEquals(GuestFault.MF, m.r(14));
        assertEquals(7, m.r(13)); // the division itself completed; FNSTSW does not wait
        assertEquals(0x8084, m.r(0) & 0x80FF, "ES, B and ZE set");
        assertEquals(GuestFault.MF, vector(CR0, 0, src + "fld1"));
        assertEquals(-1, vector(CR0, 0, src + "fnclex\nfwait"));
    }

    @Test
    void fxsaveAndFxrstorRoundTripThroughMemory() {
        LongMode m = new LongMode();
        m.s.setCr4(0xA0 | OSFXSR);
        String src = "fninit\nfldpi\nfld1\nmov $0x0123456789abcdef, %rax\nmovq %rax, %xmm7\nmovl $0x3f80, -4(%rsp)\n"
                + "ldmxcsr -4(%rsp)\nand $-16, %rsp\nsub $512, %rsp\nfxsave64 (%rsp)\nfninit\npxor %xmm7, %xmm7\n"
                + "fxrstor64 (%rsp)\nmovq %xmm7, %rbx\nstmxcsr 8(%rsp)\nmov 8(%rsp), %ecx\nfstp %st(0)\nfistp 16(%rsp)\n"
                + "mov 16(%rsp), %rdx\nfxsave64 1(%rsp)";
        m.s.setGpr(14, -1);
        assertEquals(Cpu.Exit.HALTED, m.run(src + "\nhlt"), () -> m.s.describe() + m.cpu.recentInstructions());
        assertEquals(0x0123456789abcdefL, m.r(3));
        assertEquals(0x3f80, m.r(1));
        assertEquals(3, m.r(2), "pi rounded to an integer");
        assertEquals(GuestFault.GP, m.r(14), "FXSAVE needs a 16-byte-aligned operand");
    }

    @Test
    void reciprocalApproximationsAreWithinTheSdmBound() {
        float[] inputs = {1f, 3f, -7.5f, 1e-30f, 123456.78f, 0.1f, 2f, 1e30f};
        for (float v : inputs) {
            LongMode m = new LongMode();
            m.s.setCr4(0xA0 | OSFXSR);
            String src = String.format("mov $0x%x, %%eax\nmovd %%eax, %%xmm1\nrcpss %%xmm1, %%xmm2\nmovd %%xmm2, %%ebx\n"
                    + "rsqrtss %%xmm1, %%xmm3\nmovd %%xmm3, %%ecx\nstmxcsr -4(%%rsp)\nmov -4(%%rsp), %%edx\nhlt",
                    Float.floatToRawIntBits(v));
            assertEquals(Cpu.Exit.HALTED, m.run(src));
            double rcp = Float.intBitsToFloat((int) m.r(3));
            assertEquals(1 / (double) v, rcp, Math.abs(1.5 * Math.scalb(1 / (double) v, -12)), "rcpss " + v);
            if (v > 0) {
                double rsqrt = Float.intBitsToFloat((int) m.r(1));
                double exact = 1 / Math.sqrt(v);
                assertEquals(exact, rsqrt, 1.5 * Math.scalb(exact, -12), "rsqrtss " + v);
            }
            assertEquals(0x1F80, m.r(2), "no exception flags");
        }
    }

    /** Random x87/SSE encodings over random register contents and control words: only guest outcomes. */
    @Test
    void randomFloatingPointInstructionsNeverBreakTheCpu() {
        java.util.Random random = new java.util.Random(0xF1D);
        LongMode m = new LongMode();
        int[] sseOpcodes = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E,
            0x2F, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F,
            0x60, 0x67, 0x6B, 0x6E, 0x6F, 0x70, 0x71, 0x72, 0x73, 0x74, 0x7E, 0x7F, 0xAE, 0xC2, 0xC3, 0xC4, 0xC5,
            0xC6, 0xD1, 0xD6, 0xD7, 0xE6, 0xE7, 0xF5, 0xF6, 0xF7, 0xFB};
        int[] prefixes = {0, 0x66, 0xF3, 0xF2};
        for (int n = 0; n < 4000; n++) {
            byte[] code = new byte[16];
            random.nextBytes(code);
            int i = 0;
            if (random.nextBoolean()) {
                code[i++] = (byte) (0xD8 + random.nextInt(8));
            } else {
                int p = prefixes[random.nextInt(4)];
                if (p != 0) code[i++] = (byte) p;
                if (random.nextBoolean()) code[i++] = (byte) (0x40 | random.nextInt(16));
                code[i++] = 0x0F;
                code[i++] = (byte) sseOpcodes[random.nextInt(sseOpcodes.length)];
            }
            if (random.nextInt(3) > 0) code[i] = (byte) (code[i] | 0xC0); // register forms more often
            else code[i] = (byte) (code[i] & 0x3F | 0x80 & ~0x07 | 4); // [rsp + disp32] style memory forms
            code[12] = (byte) 0xF4;
            FpuState f = m.s.fpu();
            for (int r = 0; r < 8; r++) {
                f.mant[r] = random.nextLong();
                f.se[r] = random.nextInt(0x10000);
            }
            for (int r = 0; r < 32; r++) f.xmm[r] = random.nextLong();
            f.top = random.nextInt(8);
            f.valid = random.nextInt(256);
            f.fcw = random.nextInt(0x10000);
            f.fsw = random.nextInt(0x10000) & ~0x3880;
            f.mxcsr = random.nextInt(0x10000);
            m.s.setCr4(0xA0 | (random.nextInt(4) == 0 ? 0 : OSFXSR | OSXMMEXCPT));
            m.s.setCr0(CR0 | (random.nextInt(8) == 0 ? TS : 0));
            m.s.setGpr(4, LongMode.STACK);
            m.s.setRip(LongMode.CODE);
            m.s.setRflags(2);
            m.bus.load(LongMode.CODE, code);
            m.platform.invalidateCode(LongMode.CODE, code.length);
            Cpu.Exit exit = m.cpu.run(50);
            assertEquals(true, exit != Cpu.Exit.INTERNAL_ERROR, () -> m.cpu.internalError() + "\n" + m.cpu.recentInstructions());
        }
    }

    @Test
    void resetAndFninitState() {
        LongMode m = new LongMode();
        FpuState f = m.s.fpu();
        assertEquals(0x40, f.fcw, "FCW after RESET (SDM Vol. 3A Table 9-1)");
        assertEquals(0x1F80, f.mxcsr);
        m.s.setCr4(0xA0 | OSFXSR);
        assertEquals(Cpu.Exit.HALTED, m.run("fninit\nfnstcw -2(%rsp)\nmovzwl -2(%rsp), %eax\nfnstsw %ax\nhlt"));
        assertEquals(0, m.r(0) & 0xFFFF, "FSW after FNINIT");
        assertEquals(0x37F, f.fcw);
        assertEquals(0, f.valid, "all registers empty");
    }
}
