package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;

/** The decimal-arithmetic adjustments of AL/AX (SDM Vol. 2A DAA, DAS, AAA, AAS, AAM, AAD). */
final class Bcd {
    private Bcd() {}

    static void execute(Cpu cpu, Interp in, Insn d) {
        CpuState s = cpu.s;
        long[] r = s.r;
        long al = r[0] & 0xFF;
        boolean cf = s.cf();
        boolean af = (s.arithFlags() & AF) != 0;
        switch (d.op) {
            case DAA, DAS -> {
                long oldAl = al;
                boolean newCf = false;
                boolean newAf = false;
                boolean add = d.op == Op.DAA;
                if ((al & 0xF) > 9 || af) {
                    al = add ? al + 6 : al - 6;
                    newCf = cf || (add ? al > 0xFF : oldAl < 6);
                    newAf = true;
                }
                al &= 0xFF;
                if (oldAl > 0x99 || cf) {
                    al = (add ? al + 0x60 : al - 0x60) & 0xFF;
                    newCf = true;
                }
                in.setReg(0, 1, al, false);
                long f = szp(al) | (newCf ? CF : 0) | (newAf ? AF : 0);
                s.setArith(f);
            }
            case AAA, AAS -> {
                boolean adj = (al & 0xF) > 9 || af;
                long ax = r[0] & 0xFFFF;
                if (adj) {
                    if (d.op == Op.AAA) {
                        ax = ax + 0x106;
                    } else {
                        ax = ((ax - 6) & 0xFF) | ((((ax >>> 8) - 1) & 0xFF) << 8);
                    }
                }
                ax = (ax & 0xFF0F);
                in.setReg(0, 2, ax, false);
                s.setArith(adj ? CF | AF : 0);
            }
            case AAM -> {
                int base = (int) (d.imm & 0xFF);
                if (base == 0) {
                    throw cpu.fault(GuestFault.DE, 0);
                }
                long nal = al % base;
                in.setReg(0, 2, ((al / base) << 8) | nal, false);
                s.setArith(szp(nal));
            }
            default -> { // AAD
                int base = (int) (d.imm & 0xFF);
                long nal = (al + ((r[0] >>> 8) & 0xFF) * base) & 0xFF;
                in.setReg(0, 2, nal, false);
                s.setArith(szp(nal));
            }
        }
    }

    private static long szp(long v) {
        return (v == 0 ? ZF : 0) | ((v & 0x80) != 0 ? SF : 0) | ((Long.bitCount(v & 0xFF) & 1) == 0 ? PF : 0);
    }
}
