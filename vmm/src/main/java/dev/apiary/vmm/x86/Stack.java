package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;
import static dev.apiary.vmm.x86.OpcodeTable.*;

/** Stack and segment-register instructions: PUSH/POP (and their segment, flag and all-register forms), ENTER, LEAVE, MOV Sreg, LDS and kin. */
final class Stack {
    private Stack() {}

    static void execute(Cpu cpu, Interp in, Insn d) {
        CpuState s = cpu.s;
        long[] r = s.r;
        int size = d.osize;
        switch (d.op) {
            case PUSH -> {
                long v = d.k1 == K_I ? d.imm : in.readE(d, size);
                cpu.push(v, size);
            }
            case POP -> {
                long sp = r[4];
                long v = cpu.peek(0, size);
                cpu.setSp(sp + size);
                // POP to memory computes its address with the incremented RSP (SDM Vol. 2B POP)
                try {
                    in.writeE(d, size, v);
                } catch (GuestFault f) {
                    r[4] = sp;
                    throw f;
                }
            }
            case PUSHA -> {
                long sp = r[4];
                for (int i = 0; i < 8; i++) {
                    cpu.push(i == 4 ? sp : r[i], size);
                }
            }
            case POPA -> {
                for (int i = 7; i >= 0; i--) {
                    long v = cpu.pop(size);
                    if (i != 4) {
                        in.setReg(i, size, v, false);
                    }
                }
            }
            case PUSHF -> {
                if ((s.flagsRest & VM) != 0 && (s.flagsRest & IOPL) != IOPL) {
                    throw cpu.fault(GuestFault.GP, 0);
                }
                cpu.push(s.rflags() & ~(RF | VM) & Interp.mask(size), size);
            }
            case POPF -> {
                long v = cpu.pop(size);
                popFlags(cpu, v, size);
            }
            case PUSH_SEG -> cpu.push(s.sel[d.aux], size);
            case POP_SEG -> {
                long v = cpu.peek(0, size);
                cpu.loadSegment(d.aux, (int) v);
                cpu.setSp(r[4] + size);
                if (d.aux == SS) {
                    cpu.shadow = 1;
                }
            }
            case MOV_FROM_SEG -> {
                if (d.reg > 5) {
                    throw cpu.undefined(d);
                }
                in.writeE(d, d.mem ? 2 : size, s.sel[d.reg]);
            }
            case MOV_TO_SEG -> {
                if (d.reg > 5 || d.reg == CS) {
                    throw cpu.undefined(d);
                }
                cpu.loadSegment(d.reg, (int) in.readE(d, 2));
                if (d.reg == SS) {
                    cpu.shadow = 1; // MOV SS blocks interrupts for one instruction (SDM Vol. 3A 6.8.3)
                }
            }
            case ENTER -> enter(cpu, in, d, size);
            case LEAVE -> {
                long bp = r[5] & cpu.spMask();
                long v = cpu.read(SS, bp, size);
                cpu.setSp(bp + size);
                in.setReg(5, size, v, false);
            }
            case LOAD_FAR -> {
                long off = in.ea(d);
                int osz = size;
                long mask = d.asize == 8 ? -1L : d.asize == 4 ? 0xFFFF_FFFFL : 0xFFFF;
                long v = cpu.read(d.seg, off, osz);
                int sel = (int) cpu.read(d.seg, (off + osz) & mask, 2);
                cpu.loadSegment(d.aux, sel);
                in.setReg(d.reg, osz, v, d.rex);
            }
            default -> throw cpu.undefined(d);
        }
    }

    /** POPF/IRET flag rules (SDM Vol. 2B POPF): IOPL only at CPL 0, IF only at CPL <= IOPL; VM, RF kept. */
    static void popFlags(Cpu cpu, long v, int size) {
        CpuState s = cpu.s;
        long old = s.rflags();
        long nv = mergeFlags(cpu, v, size);
        s.loadFlags(nv);
        if ((nv & IF) != 0 && (old & IF) == 0) {
            cpu.irqCheck = true;
        }
    }

    /** The flags after POPF/IRET of {@code v} at the current CPL. */
    static long mergeFlags(Cpu cpu, long v, int size) {
        CpuState s = cpu.s;
        long old = s.rflags();
        long changeable = CF | PF | AF | ZF | SF | OF | TF | DF | NT | AC | ID;
        if (!cpu.protectedMode || cpu.cpl == 0) {
            changeable |= IOPL | IF;
        } else if (cpu.cpl <= ((s.flagsRest & IOPL) >>> 12)) {
            changeable |= IF;
        }
        if (size == 2) {
            changeable &= 0xFFFF;
        }
        return (old & ~changeable) | (v & changeable);
    }

    private static void enter(Cpu cpu, Interp in, Insn d, int size) {
        long[] r = cpu.s.r;
        int alloc = (int) (d.imm & 0xFFFF);
        int level = (int) (d.imm2 & 31);
        long bp = r[5];
        cpu.push(bp, size);
        long frame = r[4] & cpu.spMask();
        long sp = frame;
        if (level > 0) {
            long bpm = bp;
            for (int i = 1; i < level; i++) {
                bpm = (bpm - size) & cpu.spMask();
                long v = cpu.read(SS, bpm, size);
                sp = (sp - size) & cpu.spMask();
                cpu.write(SS, sp, size, v);
            }
            sp = (sp - size) & cpu.spMask();
            cpu.write(SS, sp, size, frame);
        }
        sp = (sp - alloc) & cpu.spMask();
        cpu.read(SS, sp, 1); // the new stack bottom must be accessible
        in.setReg(5, size, frame, false);
        cpu.setSp(sp);
    }
}
