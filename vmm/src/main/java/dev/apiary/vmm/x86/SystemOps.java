package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;
import static dev.apiary.vmm.x86.OpcodeTable.*;

import java.lang.invoke.VarHandle;

/** Flags, port I/O, privileged and system instructions: CR/DR/MSR moves, descriptor tables, CPUID, TSC, HLT. */
final class SystemOps {
    private SystemOps() {}

    static void execute(Cpu cpu, Interp in, Insn d) {
        CpuState s = cpu.s;
        long[] r = s.r;
        switch (d.op) {
            case IN -> {
                int size = Math.min(d.s1, 4);
                int port = (int) (d.k2 == K_DX ? r[2] & 0xFFFF : d.imm & 0xFF);
                checkIo(cpu, port, size);
                in.setReg(0, size, cpu.platform.bus.portIn(port, size), false);
            }
            case OUT -> {
                int size = Math.min(d.s2, 4);
                int port = (int) (d.k1 == K_DX ? r[2] & 0xFFFF : d.imm & 0xFF);
                checkIo(cpu, port, size);
                cpu.platform.bus.portOut(port, size, r[0] & Interp.mask(size));
            }
            case HLT -> {
                privileged(cpu);
                cpu.halted = true;
            }
            case CLC -> s.setFlag(CF, false);
            case STC -> s.setFlag(CF, true);
            case CMC -> s.setFlag(CF, !s.cf());
            case CLD -> s.flagsRest &= ~DF;
            case STD -> s.flagsRest |= DF;
            case CLI -> {
                checkIopl(cpu);
                s.flagsRest &= ~IF;
            }
            case STI -> {
                checkIopl(cpu);
                if ((s.flagsRest & IF) == 0) {
                    s.flagsRest |= IF;
                    cpu.shadow = 1; // interrupts stay blocked until after the next instruction (SDM STI)
                    cpu.irqCheck = true;
                }
            }
            case PAUSE -> Thread.onSpinWait();
            case CPUID -> {
                int[] v = Cpuid.query((int) r[0], (int) r[1], cpu.config, cpu.platform.clock);
                r[0] = v[0] & 0xFFFF_FFFFL;
                r[3] = v[1] & 0xFFFF_FFFFL;
                r[1] = v[2] & 0xFFFF_FFFFL;
                r[2] = v[3] & 0xFFFF_FFFFL;
            }
            case RDTSC, RDTSCP -> {
                if ((s.cr4 & 4) != 0 && cpu.cpl != 0 && cpu.protectedMode) {
                    throw cpu.fault(GuestFault.GP, 0);
                }
                long tsc = cpu.platform.clock.tsc() + s.tscOffset;
                r[0] = tsc & 0xFFFF_FFFFL;
                r[2] = tsc >>> 32;
                if (d.op == Op.RDTSCP) {
                    r[1] = s.tscAux;
                }
            }
            case RDMSR -> {
                privileged(cpu);
                int idx = (int) r[1];
                long v = s.readMsr(idx);
                if (v == NO_MSR && !CpuState.knownMsr(idx)) {
                    cpu.logMsrOnce("RDMSR", idx);
                    throw cpu.fault(GuestFault.GP, 0);
                }
                r[0] = v & 0xFFFF_FFFFL;
                r[2] = v >>> 32;
            }
            case WRMSR -> wrmsr(cpu);
            case MOV_FROM_CR -> movFromCr(cpu, in, d);
            case MOV_TO_CR -> movToCr(cpu, in, d);
            case MOV_FROM_DR -> {
                privileged(cpu);
                in.setReg(d.rm, cpu.codeMode == 64 ? 8 : 4, s.dr[drIndex(cpu, d)], false);
            }
            case MOV_TO_DR -> {
                privileged(cpu);
                s.dr[drIndex(cpu, d)] = in.getReg(d.rm, cpu.codeMode == 64 ? 8 : 4, false);
            }
            case LGDT, LIDT -> {
                privileged(cpu);
                long off = in.ea(d);
                int limit = (int) cpu.read(d.seg, off, 2);
                long am = Interp.mask(d.asize);
                long base = cpu.codeMode == 64 ? cpu.read(d.seg, (off + 2) & am, 8) : cpu.read(d.seg, (off + 2) & am, 4);
                if (cpu.codeMode != 64 && d.osize == 2) {
                    base &= 0xFF_FFFF;
                }
                if (d.op == Op.LGDT) {
                    s.setGdtr(base, limit);
                } else {
                    s.setIdtr(base, limit);
                }
            }
            case SGDT, SIDT -> {
                long off = in.ea(d);
                boolean g = d.op == Op.SGDT;
                cpu.write(d.seg, off, 2, g ? s.gdtrLimit : s.idtrLimit);
                cpu.write(d.seg, (off + 2) & Interp.mask(d.asize), cpu.codeMode == 64 ? 8 : 4, g ? s.gdtrBase : s.idtrBase);
            }
            case SLDT, STR -> {
                protectedOnly(cpu, d);
                int v = s.sel[d.op == Op.SLDT ? LDTR : TR];
                in.writeE(d, d.mem ? 2 : d.osize, v);
            }
            case LLDT, LTR -> {
                protectedOnly(cpu, d);
                privileged(cpu);
                loadSystemSegment(cpu, d.op == Op.LTR ? TR : LDTR, (int) in.readE(d, 2));
            }
            case LMSW -> {
                privileged(cpu);
                long v = in.readE(d, 2);
                // LMSW sets PE, MP, EM, TS; it cannot clear PE (SDM LMSW)
                setCr0(cpu, (s.cr0 & ~0xEL) | (v & 0xF) | (s.cr0 & 1));
            }
            case SMSW -> in.writeE(d, d.mem ? 2 : d.osize, s.cr0 & Interp.mask(d.mem ? 2 : d.osize));
            case INVLPG -> {
                privileged(cpu);
                long off = in.ea(d);
                long lin = cpu.codeMode == 64 ? (d.seg >= FS ? s.base[d.seg] : 0) + off : (s.base[d.seg] + off) & 0xFFFF_FFFFL;
                cpu.mmu.invlpg(lin);
            }
            case SWAPGS -> {
                privileged(cpu);
                long t = s.base[GS];
                s.base[GS] = s.kernelGsBase;
                s.kernelGsBase = t;
            }
            case CLTS -> {
                privileged(cpu);
                s.cr0 &= ~8L;
            }
            case LAR, LSL, VERR, VERW -> Descriptors.check(cpu, in, d);
            case WBINVD -> privileged(cpu);
            case FENCE -> VarHandle.fullFence();
            case CLFLUSH -> cpu.linear(d.seg, in.ea(d), 1, Mmu.READ);
            case FWAIT -> {
                if ((s.cr0 & 0xA) == 0xA) {
                    throw cpu.fault(GuestFault.NM, 0);
                }
                if ((s.fpu.fsw & 0x80) != 0) {
                    throw cpu.fault(GuestFault.MF, 0); // a pending unmasked x87 exception (SDM Vol. 1 8.6)
                }
            }
            case RDPMC -> throw cpu.fault(GuestFault.GP, 0);
            default -> throw cpu.undefined(d);
        }
    }

    static void privileged(Cpu cpu) {
        if (cpu.cpl != 0) {
            throw cpu.fault(GuestFault.GP, 0);
        }
    }

    private static void protectedOnly(Cpu cpu, Insn d) {
        if (!cpu.protectedMode || (cpu.s.flagsRest & VM) != 0) {
            throw cpu.fault(GuestFault.UD, 0);
        }
    }

    private static void checkIopl(Cpu cpu) {
        if (cpu.protectedMode && cpu.cpl > ((cpu.s.flagsRest & IOPL) >>> 12)) {
            throw cpu.fault(GuestFault.GP, 0);
        }
    }

    /**
     * The I/O permission check (SDM Vol. 1 19.5): at CPL > IOPL every byte of the access must be allowed by
     * the TSS's I/O bitmap, else #GP(0).
     */
    static void checkIo(Cpu cpu, int port, int size) {
        CpuState s = cpu.s;
        if (!cpu.protectedMode || cpu.cpl <= ((s.flagsRest & IOPL) >>> 12) && (s.flagsRest & VM) == 0) {
            return;
        }
        int type = s.attr[TR] & 0xF;
        if ((s.attr[TR] & UNUSABLE) != 0 || (type != 0x9 && type != 0xB) || s.limit[TR] < 103) {
            throw cpu.fault(GuestFault.GP, 0);
        }
        long base = s.base[TR];
        long mapOff = cpu.readSys(base + 102, 2);
        long byteOff = mapOff + (port >>> 3);
        if (byteOff + 1 > s.limit[TR]) {
            throw cpu.fault(GuestFault.GP, 0);
        }
        long bits = cpu.readSys(base + byteOff, 2);
        long want = ((1L << size) - 1) << (port & 7);
        if ((bits & want) != 0) {
            throw cpu.fault(GuestFault.GP, 0);
        }
    }

    private static int drIndex(Cpu cpu, Insn d) {
        int n = d.reg;
        if (n == 4 || n == 5) {
            if ((cpu.s.cr4 & 8) != 0) {
                throw cpu.fault(GuestFault.UD, 0);
            }
            n += 2;
        }
        if (n > 7) {
            throw cpu.fault(GuestFault.UD, 0);
        }
        return n;
    }

    private static void movFromCr(Cpu cpu, Interp in, Insn d) {
        privileged(cpu);
        CpuState s = cpu.s;
        long v = switch (d.reg) {
            case 0 -> s.cr0;
            case 2 -> s.cr2;
            case 3 -> s.cr3;
            case 4 -> s.cr4;
            case 8 -> cpu.apic.cr8() & 0xF;
            default -> throw cpu.fault(GuestFault.UD, 0);
        };
        in.setReg(d.rm, cpu.codeMode == 64 ? 8 : 4, v, false);
    }

    private static void movToCr(Cpu cpu, Interp in, Insn d) {
        privileged(cpu);
        CpuState s = cpu.s;
        long v = in.getReg(d.rm, cpu.codeMode == 64 ? 8 : 4, false);
        switch (d.reg) {
            case 0 -> setCr0(cpu, v);
            case 2 -> s.cr2 = v;
            case 3 -> {
                s.cr3 = cpu.longMode ? v & 0x000F_FFFF_FFFF_FFFFL : v & 0xFFFF_FFFFL;
                cpu.mmu.flush(true); // global pages survive a CR3 write (SDM Vol. 3A 4.10.4.1)
            }
            case 4 -> {
                if ((v & ~0x7FFL) != 0 || cpu.longMode && (v & 0x20) == 0) {
                    throw cpu.fault(GuestFault.GP, 0);
                }
                s.cr4 = v;
                cpu.mmu.flush(false);
            }
            case 8 -> {
                if ((v & ~0xFL) != 0) {
                    throw cpu.fault(GuestFault.GP, 0);
                }
                cpu.apic.setCr8((int) v);
                cpu.irqCheck = true;
            }
            default -> throw cpu.fault(GuestFault.UD, 0);
        }
    }

    static void setCr0(Cpu cpu, long v) {
        CpuState s = cpu.s;
        if ((v >>> 32) != 0 || (v & 0x8000_0001L) == 0x8000_0000L || (v & 0x6000_0000L) == 0x2000_0000L) {
            throw cpu.fault(GuestFault.GP, 0);
        }
        boolean enablingPaging = (v & 0x8000_0000L) != 0 && (s.cr0 & 0x8000_0000L) == 0;
        if (enablingPaging && (s.efer & EFER_LME) != 0 && (s.cr4 & 0x20) == 0) {
            throw cpu.fault(GuestFault.GP, 0);
        }
        if (cpu.codeMode == 64 && (v & 0x8000_0000L) == 0) {
            throw cpu.fault(GuestFault.GP, 0); // leaving long mode must start in compatibility mode
        }
        s.cr0 = v | 0x10;
        s.updateLma();
        cpu.mmu.flush(false);
        cpu.updateMode();
    }

    private static void wrmsr(Cpu cpu) {
        privileged(cpu);
        CpuState s = cpu.s;
        long[] r = s.r;
        int idx = (int) r[1];
        long v = (r[0] & 0xFFFF_FFFFL) | (r[2] << 32);
        if (idx == MSR_EFER && (s.cr0 & 0x8000_0000L) != 0 && ((v ^ s.efer) & EFER_LME) != 0) {
            throw cpu.fault(GuestFault.GP, 0); // LME cannot change while paging is on
        }
        long oldEfer = s.efer;
        if (!s.writeMsr(idx, v)) {
            if (!CpuState.knownMsr(idx)) {
                cpu.logMsrOnce("WRMSR", idx);
            }
            throw cpu.fault(GuestFault.GP, 0);
        }
        if (idx == MSR_EFER && oldEfer != s.efer) {
            cpu.mmu.flush(false);
            cpu.updateMode();
        }
        cpu.irqCheck = true;
    }

    /** LLDT / LTR (SDM Vol. 2A): a GDT descriptor of an LDT or an available TSS; LTR marks it busy. */
    private static void loadSystemSegment(Cpu cpu, int seg, int selector) {
        CpuState s = cpu.s;
        if ((selector & 0xFFFC) == 0) {
            if (seg == TR) {
                throw cpu.fault(GuestFault.GP, 0);
            }
            s.loadSeg(LDTR, selector, 0, 0, UNUSABLE);
            return;
        }
        if ((selector & 4) != 0) {
            throw cpu.fault(GuestFault.GP, selector & 0xFFFC);
        }
        long desc = cpu.readDescriptor(selector, 0);
        int attr = Cpu.descAttr(desc);
        int type = attr & 0x1F;
        boolean ok = seg == LDTR ? type == 0x02 : type == 0x09 || type == 0x01 && !cpu.longMode;
        if (!ok) {
            throw cpu.fault(GuestFault.GP, selector & 0xFFFC);
        }
        if ((attr & 0x80) == 0) {
            throw cpu.fault(GuestFault.NP, selector & 0xFFFC);
        }
        long base = Cpu.descBase(desc);
        if (cpu.longMode) {
            if ((selector & 0xFFF8) + 15 > s.gdtrLimit) {
                throw cpu.fault(GuestFault.GP, selector & 0xFFFC);
            }
            base |= cpu.readSys(s.gdtrBase + (selector & 0xFFF8) + 8, 4) << 32;
        }
        if (seg == TR) {
            cpu.writeSys(s.gdtrBase + (selector & 0xFFF8) + 5, 1, (desc >>> 40 | 2) & 0xFF);
            attr |= 2;
        }
        s.loadSeg(seg, selector, base, Cpu.descLimit(desc), attr);
    }
}
