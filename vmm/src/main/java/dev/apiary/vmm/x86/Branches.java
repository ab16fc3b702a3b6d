package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;

/** Control transfers: near and far JMP/CALL/RET, Jcc, LOOP, INT, IRET, SYSCALL/SYSRET. */
final class Branches {
    private Branches() {}

    static void execute(Cpu cpu, Interp in, Insn d) {
        CpuState s = cpu.s;
        long[] r = s.r;
        switch (d.op) {
            case JCC -> {
                if (in.condition(d.aux)) {
                    near(cpu, d, cpu.nextRip + d.imm);
                }
            }
            case JMP -> near(cpu, d, cpu.nextRip + d.imm);
            case JMP_IND -> near(cpu, d, in.readE(d, d.osize));
            case CALL -> {
                long target = cpu.nextRip + d.imm;
                checkNear(cpu, d, target);
                cpu.push(cpu.nextRip, d.osize);
                near(cpu, d, target);
            }
            case CALL_IND -> {
                long target = in.readE(d, d.osize);
                checkNear(cpu, d, target);
                cpu.push(cpu.nextRip, d.osize);
                near(cpu, d, target);
            }
            case RET -> {
                long target = cpu.peek(0, d.osize);
                checkNear(cpu, d, target & Interp.mask(d.osize));
                cpu.setSp(r[4] + d.osize + (d.k1 != 0 ? d.imm & 0xFFFF : 0));
                near(cpu, d, target);
            }
            case LOOP, LOOPE, LOOPNE, JCXZ -> {
                long m = Interp.mask(d.asize);
                long c = r[1] & m;
                boolean take;
                if (d.op == Op.JCXZ) {
                    take = c == 0;
                } else {
                    c = (c - 1) & m;
                    r[1] = d.asize == 8 ? c : d.asize == 4 ? c : (r[1] & ~0xFFFFL) | c;
                    take = c != 0 && (d.op == Op.LOOP || (d.op == Op.LOOPE) == s.zf());
                }
                if (take) {
                    near(cpu, d, cpu.nextRip + d.imm);
                }
            }
            case JMP_FAR -> cpu.loadCodeSegment((int) d.imm2, d.imm, cpu.cpl, false);
            case JMP_FAR_IND -> {
                long off = in.ea(d);
                int osz = d.osize;
                long v = cpu.read(d.seg, off, osz);
                int sel = (int) cpu.read(d.seg, (off + osz) & Interp.mask(d.asize), 2);
                cpu.loadCodeSegment(sel, v, cpu.cpl, false);
            }
            case CALL_FAR -> farCall(cpu, (int) d.imm2, d.imm, d.osize);
            case CALL_FAR_IND -> {
                long off = in.ea(d);
                int osz = d.osize;
                long v = cpu.read(d.seg, off, osz);
                int sel = (int) cpu.read(d.seg, (off + osz) & Interp.mask(d.asize), 2);
                farCall(cpu, sel, v, osz);
            }
            case RET_FAR -> farReturn(cpu, d);
            case INT -> cpu.softwareInterrupt((int) (d.imm & 0xFF));
            case INT3 -> cpu.softwareInterrupt(GuestFault.BP);
            case INT1 -> cpu.softwareInterrupt(GuestFault.DB);
            case INTO -> {
                if (s.of()) {
                    cpu.softwareInterrupt(GuestFault.OF);
                }
            }
            case IRET -> iret(cpu, d);
            case SYSCALL -> syscall(cpu);
            case SYSRET -> sysret(cpu, d);
            default -> throw cpu.undefined(d); // SYSENTER/SYSEXIT: SEP is not advertised
        }
    }

    private static void checkNear(Cpu cpu, Insn d, long target) {
        if (cpu.codeMode == 64) {
            if (!CpuState.canonical(target)) {
                throw cpu.fault(GuestFault.GP, 0);
            }
        } else if ((target & Interp.mask(d.osize)) > cpu.s.limit[CS]) {
            throw cpu.fault(GuestFault.GP, 0);
        }
    }

    private static void near(Cpu cpu, Insn d, long target) {
        if (cpu.codeMode != 64) {
            target &= d.osize == 2 ? 0xFFFF : 0xFFFF_FFFFL;
        }
        checkNear(cpu, d, target);
        cpu.nextRip = target;
    }

    private static void farCall(Cpu cpu, int selector, long offset, int osz) {
        CpuState s = cpu.s;
        long sp = s.r[4];
        cpu.push(s.sel[CS], osz);
        cpu.push(cpu.nextRip, osz);
        try {
            cpu.loadCodeSegment(selector, offset, cpu.cpl, false);
        } catch (GuestFault f) {
            s.r[4] = sp;
            throw f;
        }
    }

    private static void farReturn(Cpu cpu, Insn d) {
        CpuState s = cpu.s;
        int osz = d.osize;
        long extra = d.k1 != 0 ? d.imm & 0xFFFF : 0;
        long ip = cpu.peek(0, osz);
        int sel = (int) cpu.peek(osz, osz) & 0xFFFF;
        int rpl = sel & 3;
        if (!cpu.protectedMode || rpl == cpu.cpl || (s.flagsRest & VM) != 0) {
            cpu.loadCodeSegment(sel, ip, cpu.protectedMode ? cpu.cpl : 0, true);
            cpu.setSp(s.r[4] + 2L * osz + extra);
            return;
        }
        // return to an outer privilege level: SS:SP follow the immediate
        long nsp = cpu.peek((int) (2 * osz + extra), osz);
        int nss = (int) cpu.peek((int) (3 * osz + extra), osz) & 0xFFFF;
        cpu.loadCodeSegment(sel, ip, rpl, true);
        cpu.loadSegment(SS, nss);
        cpu.setSp(nsp + extra);
        cpu.nullInaccessibleSegments();
    }

    private static void iret(Cpu cpu, Insn d) {
        CpuState s = cpu.s;
        int osz = d.osize;
        if (!cpu.protectedMode) {
            long ip = cpu.peek(0, osz);
            int cs = (int) cpu.peek(osz, osz) & 0xFFFF;
            long fl = cpu.peek(2 * osz, osz);
            cpu.setSp(s.r[4] + 3L * osz);
            cpu.loadCodeSegment(cs, ip, 0, true);
            Stack.popFlags(cpu, osz == 2 ? (s.rflags() & ~0xFFFFL) | fl : fl, 4);
            cpu.nmiBlocked = false;
            return;
        }
        if ((s.flagsRest & NT) != 0 && !cpu.longMode) {
            throw cpu.fault(GuestFault.GP, 0); // task return: task switching is not implemented
        }
        long ip = cpu.peek(0, osz);
        int cs = (int) cpu.peek(osz, osz) & 0xFFFF;
        long fl = cpu.peek(2 * osz, osz);
        if (osz == 2) {
            fl = (s.rflags() & ~0xFFFFL) | fl;
        }
        int rpl = cs & 3;
        if (rpl < cpu.cpl) {
            throw cpu.fault(GuestFault.GP, cs & 0xFFFC);
        }
        long newFlags = Stack.mergeFlags(cpu, fl, 4);
        if (cpu.codeMode == 64 || rpl != cpu.cpl) {
            long nsp = cpu.peek(3 * osz, osz);
            int nss = (int) cpu.peek(4 * osz, osz) & 0xFFFF;
            cpu.loadCodeSegment(cs, ip, rpl, true);
            long next = cpu.nextRip;
            cpu.loadSegment(SS, nss);
            s.r[4] = osz == 2 ? (s.r[4] & ~0xFFFFL) | (nsp & 0xFFFF) : osz == 4 ? nsp & 0xFFFF_FFFFL : nsp;
            if (cpu.stackSize == 2) {
                s.r[4] = (s.r[4] & ~0xFFFFL) | (nsp & 0xFFFF);
            }
            cpu.nextRip = next;
            if (rpl != 0) {
                cpu.nullInaccessibleSegments();
            }
        } else {
            cpu.loadCodeSegment(cs, ip, rpl, true);
            cpu.setSp(s.r[4] + 3L * osz);
        }
        boolean ifWas = (s.flagsRest & IF) != 0;
        s.loadFlags(newFlags & ~VM);
        if (!ifWas && (newFlags & IF) != 0) {
            cpu.irqCheck = true;
        }
        cpu.nmiBlocked = false;
    }

    /** SYSCALL (SDM Vol. 2B): CPL 0 code from STAR, RIP from LSTAR (CSTAR from compatibility mode). */
    private static void syscall(Cpu cpu) {
        CpuState s = cpu.s;
        if ((s.efer & EFER_SCE) == 0 || !cpu.protectedMode) {
            throw cpu.fault(GuestFault.UD, 0);
        }
        int cs = (int) (s.star >>> 32) & 0xFFFC;
        long flags = s.rflags();
        if (cpu.longMode) {
            boolean from64 = cpu.codeMode == 64;
            s.r[1] = cpu.nextRip;
            s.r[11] = flags & ~RF;
            s.loadSeg(CS, cs, 0, 0xFFFF_FFFFL, 0xA09B);
            s.loadSeg(SS, cs + 8, 0, 0xFFFF_FFFFL, 0xC093);
            s.loadFlags(flags & ~s.fmask & ~RF);
            cpu.updateMode();
            cpu.nextRip = from64 ? s.lstar : s.cstar;
        } else {
            s.r[1] = cpu.nextRip & 0xFFFF_FFFFL;
            s.loadSeg(CS, cs, 0, 0xFFFF_FFFFL, 0xC09B);
            s.loadSeg(SS, cs + 8, 0, 0xFFFF_FFFFL, 0xC093);
            s.loadFlags(flags & ~(VM | IF | RF));
            cpu.updateMode();
            cpu.nextRip = s.star & 0xFFFF_FFFFL;
        }
    }

    /** SYSRET (SDM Vol. 2B): to CPL 3; #GP(0) for a non-canonical RCX, checked before anything changes. */
    private static void sysret(Cpu cpu, Insn d) {
        CpuState s = cpu.s;
        if ((s.efer & EFER_SCE) == 0 || !cpu.protectedMode) {
            throw cpu.fault(GuestFault.UD, 0);
        }
        if (cpu.cpl != 0 || !cpu.longMode) {
            throw cpu.fault(GuestFault.GP, 0);
        }
        int base = (int) (s.star >>> 48) & 0xFFFF;
        if (d.osize == 8) {
            if (!CpuState.canonical(s.r[1])) {
                throw cpu.fault(GuestFault.GP, 0);
            }
            s.loadSeg(CS, (base + 16) | 3, 0, 0xFFFF_FFFFL, 0xA0FB);
            cpu.nextRip = s.r[1];
        } else {
            s.loadSeg(CS, base | 3, 0, 0xFFFF_FFFFL, 0xC0FB);
            cpu.nextRip = s.r[1] & 0xFFFF_FFFFL;
        }
        s.loadSeg(SS, (base + 8) | 3, 0, 0xFFFF_FFFFL, 0xC0F3);
        boolean ifWas = (s.flagsRest & IF) != 0;
        s.loadFlags((s.r[11] & 0x3C_7FD7L) | 2);
        if (!ifWas && (s.flagsRest & IF) != 0) {
            cpu.irqCheck = true;
        }
        cpu.updateMode();
    }
}
