package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;

/**
 * String instructions with REP/REPE/REPNE and DF in every address size (SDM Vol. 2B MOVS, CMPS, STOS, LODS,
 * SCAS, INS, OUTS). A long REP yields every few thousand iterations with RIP still at the instruction, so
 * interrupts are taken in between, as on hardware.
 */
final class Strings {
    private static final int CHUNK = 4096;

    private Strings() {}

    static void execute(Cpu cpu, Interp in, Insn d) {
        CpuState s = cpu.s;
        long[] r = s.r;
        int size = d.aux == 1 ? 1 : Math.min(d.osize, d.op == Op.INS || d.op == Op.OUTS ? 4 : 8);
        long am = Interp.mask(d.asize);
        long delta = (s.flagsRest & DF) != 0 ? -size : size;
        if (d.op == Op.INS || d.op == Op.OUTS) {
            SystemOps.checkIo(cpu, (int) (r[2] & 0xFFFF), size);
        }
        if (d.rep == 0) {
            once(cpu, in, d, size, am, delta);
            return;
        }
        boolean compares = d.op == Op.CMPS || d.op == Op.SCAS;
        for (int n = 0; ; n++) {
            long c = r[1] & am;
            if (c == 0) {
                return;
            }
            if (n == CHUNK) {
                cpu.nextRip = s.rip; // resume here after pending interrupts
                return;
            }
            once(cpu, in, d, size, am, delta);
            setCounter(r, 1, c - 1, d.asize);
            if (compares && (d.rep == 1) != s.zf()) {
                return;
            }
        }
    }

    private static void setCounter(long[] r, int reg, long v, int asize) {
        r[reg] = asize == 8 ? v : asize == 4 ? v & 0xFFFF_FFFFL : (r[reg] & ~0xFFFFL) | (v & 0xFFFF);
    }

    private static void once(Cpu cpu, Interp in, Insn d, int size, long am, long delta) {
        long[] r = cpu.s.r;
        long si = r[6] & am;
        long di = r[7] & am;
        switch (d.op) {
            case MOVS -> {
                long v = cpu.read(d.seg, si, size);
                cpu.write(ES, di, size, v);
                setCounter(r, 6, si + delta, d.asize);
                setCounter(r, 7, di + delta, d.asize);
            }
            case CMPS -> {
                long a = cpu.read(d.seg, si, size);
                long b = cpu.read(ES, di, size);
                in.aluOp(Op.CMP, a, b, size);
                setCounter(r, 6, si + delta, d.asize);
                setCounter(r, 7, di + delta, d.asize);
            }
            case STOS -> {
                cpu.write(ES, di, size, r[0]);
                setCounter(r, 7, di + delta, d.asize);
            }
            case LODS -> {
                in.setReg(0, size, cpu.read(d.seg, si, size), false);
                setCounter(r, 6, si + delta, d.asize);
            }
            case SCAS -> {
                long b = cpu.read(ES, di, size);
                in.aluOp(Op.CMP, r[0] & Interp.mask(size), b, size);
                setCounter(r, 7, di + delta, d.asize);
            }
            case INS -> {
                long lin = cpu.linear(ES, di, size, Mmu.WRITE);
                cpu.mmu.translateWrite(lin, size, cpu.cpl == 3);
                long v = cpu.platform.bus.portIn((int) (r[2] & 0xFFFF), size);
                cpu.mmu.write(lin, size, v, cpu.cpl == 3);
                setCounter(r, 7, di + delta, d.asize);
            }
            default -> { // OUTS
                long v = cpu.read(d.seg, si, size);
                cpu.platform.bus.portOut((int) (r[2] & 0xFFFF), size, v);
                setCounter(r, 6, si + delta, d.asize);
            }
        }
    }
}
