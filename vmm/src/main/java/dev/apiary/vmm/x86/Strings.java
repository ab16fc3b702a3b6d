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
        boolean bulk = (d.op == Op.MOVS || d.op == Op.STOS) && delta > 0 && cpu.codeMode == 64;
        for (int n = 0; ; ) {
            long c = r[1] & am;
            if (c == 0) {
                return;
            }
            if (n >= CHUNK) {
                cpu.nextRip = s.rip; // resume here after pending interrupts
                return;
            }
            if (bulk) {
                int k = d.op == Op.STOS ? bulkStore(cpu, d, size, am, Math.min(c, CHUNK - n))
                        : bulkMove(cpu, d, size, am, Math.min(c, CHUNK - n));
                if (k > 0) {
                    setCounter(r, 1, c - k, d.asize);
                    n += k;
                    continue;
                }
            }
            once(cpu, in, d, size, am, delta);
            setCounter(r, 1, c - 1, d.asize);
            n++;
            if (compares && (d.rep == 1) != s.zf()) {
                return;
            }
        }
    }

    /**
     * How many of at most {@code max} elements from {@code off} (address size mask {@code am}) stay in its 4 KiB
     * page and do not wrap the address size.
     */
    private static long elementsInPage(long lin, long off, long am, int size, long max) {
        long k = Math.min(max, (4096 - (lin & 0xFFF)) / size);
        return am == -1L ? k : Math.min(k, (am - off + 1) / size);
    }

    /**
     * REP STOS forward in 64-bit mode, the part of it that lies in one page of RAM the TLB holds writable: a
     * fill of host memory. Returns the elements stored (0: none, the caller takes the one-element path, which
     * also raises any fault). Fast-string stores may be seen out of order by other processors (SDM Vol. 3A
     * 8.2.4), so one fenced fill is as ordered as the instruction.
     */
    private static int bulkStore(Cpu cpu, Insn d, int size, long am, long max) {
        long[] r = cpu.s.r;
        long di = r[7] & am;
        long lin = cpu.linear(CpuState.ES, di, size, Mmu.WRITE);
        long k = elementsInPage(lin, di, am, size, max);
        long host = k > 1 ? cpu.mmu.hostWrite(lin, (int) k * size, cpu.cpl == 3) : 0;
        if (host == 0) {
            return 0;
        }
        HostRam.fill(host, (int) k, size, r[0]);
        setCounter(r, 7, di + k * size, d.asize);
        return (int) k;
    }

    /** REP MOVS forward in 64-bit mode, as {@link #bulkStore}: what lies in one source and one destination page. */
    private static int bulkMove(Cpu cpu, Insn d, int size, long am, long max) {
        long[] r = cpu.s.r;
        long si = r[6] & am;
        long di = r[7] & am;
        long from = cpu.linear(d.seg, si, size, Mmu.READ);
        long to = cpu.linear(CpuState.ES, di, size, Mmu.WRITE);
        long k = Math.min(elementsInPage(from, si, am, size, max), elementsInPage(to, di, am, size, max));
        if (k <= 1) {
            return 0;
        }
        int bytes = (int) k * size;
        boolean user = cpu.cpl == 3;
        long src = cpu.mmu.hostRead(from, bytes, user);
        long dst = src == 0 ? 0 : cpu.mmu.hostWrite(to, bytes, user);
        if (dst == 0) {
            return 0;
        }
        HostRam.move(src, dst, bytes);
        setCounter(r, 6, si + bytes, d.asize);
        setCounter(r, 7, di + bytes, d.asize);
        return (int) k;
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
