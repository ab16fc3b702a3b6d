package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;

/** LAR, LSL, VERR, VERW (SDM Vol. 2A/2B): descriptor checks that report through ZF instead of faulting. */
final class Descriptors {
    private Descriptors() {}

    static void check(Cpu cpu, Interp in, Insn d) {
        CpuState s = cpu.s;
        if (!cpu.protectedMode || (s.flagsRest & VM) != 0) {
            throw cpu.fault(GuestFault.UD, 0);
        }
        int selector = (int) in.readE(d, 2) & 0xFFFF;
        long desc = 0;
        boolean valid = (selector & 0xFFFC) != 0;
        if (valid) {
            long tableLimit = (selector & 4) != 0 ? s.limit[LDTR] : s.gdtrLimit;
            if ((selector & 4) != 0 && (s.attr[LDTR] & UNUSABLE) != 0 || (selector & 0xFFF8) + 7 > tableLimit) {
                valid = false;
            } else {
                desc = cpu.readDescriptor(selector, 0);
            }
        }
        int attr = Cpu.descAttr(desc);
        int type = attr & 0xF;
        boolean system = (attr & 0x10) == 0;
        int dpl = (attr >>> 5) & 3;
        boolean conformingCode = (attr & 0x1C) == 0x1C;
        boolean privOk = conformingCode || (dpl >= cpu.cpl && dpl >= (selector & 3));
        switch (d.op) {
            case LAR, LSL -> {
                if (valid && system) {
                    boolean okType = d.op == Op.LAR
                            ? (cpu.longMode ? type == 2 || type == 9 || type == 0xB || type == 0xC
                                    : type != 0 && type != 8 && type != 0xA && type != 0xD && type != 0xE && type != 0xF)
                            : (cpu.longMode ? type == 2 || type == 9 || type == 0xB
                                    : type == 1 || type == 2 || type == 3 || type == 9 || type == 0xB);
                    valid = okType;
                }
                valid &= privOk;
                if (valid) {
                    long v = d.op == Op.LAR ? (desc >>> 32) & 0x00FF_FF00L : Cpu.descLimit(desc);
                    in.setReg(d.reg, d.osize, v, d.rex);
                }
            }
            default -> {
                valid &= !system && privOk;
                if (valid) {
                    boolean code = (attr & 8) != 0;
                    valid = d.op == Op.VERR ? !code || (attr & 2) != 0 : !code && (attr & 2) != 0;
                }
            }
        }
        s.setFlag(ZF, valid);
    }
}
