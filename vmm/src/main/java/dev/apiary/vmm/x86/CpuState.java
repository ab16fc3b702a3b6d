package dev.apiary.vmm.x86;

import java.util.HashMap;
import java.util.Map;

/**
 * The register file of one vCPU. Mutable through the setters while the CPU is not running; after any setter
 * the CPU recomputes its mode and flushes its TLB before it executes again.
 *
 * <p>Arithmetic flags are lazy (Bochs' scheme): the last result and its carry-out vector are kept, and CF, PF,
 * AF, ZF, SF, OF are derived from them when read; flags an instruction sets explicitly override the derived
 * ones through a mask.
 */
public final class CpuState {
    public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;
    static final long CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400,
            OF = 0x800, IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000, AC = 0x40000, VIF = 0x80000,
            VIP = 0x100000, ID = 0x200000;
    static final long ARITH = CF | PF | AF | ZF | SF | OF;
    /** VMX access-rights "unusable" bit: a null selector loaded in protected mode. */
    static final int UNUSABLE = 1 << 16;

    static final int MSR_TSC = 0x10, MSR_APIC_BASE = 0x1B, MSR_EFER = 0xC000_0080, MSR_STAR = 0xC000_0081,
            MSR_LSTAR = 0xC000_0082, MSR_CSTAR = 0xC000_0083, MSR_FMASK = 0xC000_0084, MSR_FS_BASE = 0xC000_0100,
            MSR_GS_BASE = 0xC000_0101, MSR_KERNEL_GS_BASE = 0xC000_0102, MSR_TSC_AUX = 0xC000_0103,
            MSR_TSC_DEADLINE = 0x6E0, MSR_PAT = 0x277, MSR_MISC_ENABLE = 0x1A0, MSR_SYSENTER_CS = 0x174,
            MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176, MSR_MTRRCAP = 0xFE, MSR_MTRR_DEF_TYPE = 0x2FF;
    static final long EFER_SCE = 1, EFER_LME = 1 << 8, EFER_LMA = 1 << 10, EFER_NXE = 1 << 11;

    final long[] r = new long[16];
    long rip;
    /** RFLAGS without the six arithmetic flags (bit 1 always set). */
    long flagsRest = 2;
    long lfRes;
    long lfAux;
    int lfBits = 64;
    long ovMask = ARITH;
    long ovBits;

    final int[] sel = new int[8];
    final long[] base = new long[8];
    final long[] limit = new long[8];
    final int[] attr = new int[8];

    long cr0 = 0x6000_0010L, cr2, cr3, cr4, efer;
    final long[] dr = new long[8];
    long gdtrBase, idtrBase;
    int gdtrLimit = 0xFFFF, idtrLimit = 0xFFFF;

    long star, lstar, cstar, fmask, kernelGsBase, tscAux, sysenterCs, sysenterEsp, sysenterEip;
    long tscOffset;
    long pat = 0x0007_0406_0007_0406L;
    long miscEnable = 1;
    long mtrrDefType;
    final Map<Integer, Long> mtrrs = new HashMap<>();
    /** x87, XMM and MXCSR. */
    final FpuState fpu = new FpuState();

    /** Set by every setter: the CPU recomputes its mode and flushes its TLB before running. */
    boolean dirty = true;

    private final LocalInterrupts apic;
    private final GuestClock clock;

    CpuState(LocalInterrupts apic, GuestClock clock) {
        this.apic = apic;
        this.clock = clock;
    }

    // ---- public API -----------------------------------------------------------------------------------

    public long gpr(int i) {
        return r[i];
    }

    public void setGpr(int i, long v) {
        r[i] = v;
    }

    public FpuState fpu() {
        return fpu;
    }

    public long rip() {
        return rip;
    }

    public void setRip(long v) {
        rip = v;
    }

    public long rflags() {
        return flagsRest | arithFlags();
    }

    public void setRflags(long v) {
        loadFlags(v);
        dirty = true;
    }

    public void setSegment(int seg, int selector, long base, long limit, int attributes) {
        sel[seg] = selector & 0xFFFF;
        this.base[seg] = base;
        this.limit[seg] = limit & 0xFFFF_FFFFL;
        attr[seg] = attributes;
        dirty = true;
    }

    /** A segment load by the CPU itself (no mode recomputation needed by run()). */
    void loadSeg(int seg, int selector, long base, long limit, int attributes) {
        sel[seg] = selector & 0xFFFF;
        this.base[seg] = base;
        this.limit[seg] = limit & 0xFFFF_FFFFL;
        attr[seg] = attributes;
    }

    public int selector(int seg) {
        return sel[seg];
    }

    public long segmentBase(int seg) {
        return base[seg];
    }

    public long segmentLimit(int seg) {
        return limit[seg];
    }

    public int segmentAttributes(int seg) {
        return attr[seg];
    }

    public long cr0() {
        return cr0;
    }

    public long cr2() {
        return cr2;
    }

    public long cr3() {
        return cr3;
    }

    public long cr4() {
        return cr4;
    }

    public long efer() {
        return efer;
    }

    public void setCr0(long v) {
        cr0 = v | 0x10;
        updateLma();
        dirty = true;
    }

    public void setCr2(long v) {
        cr2 = v;
    }

    public void setCr3(long v) {
        cr3 = v;
        dirty = true;
    }

    public void setCr4(long v) {
        cr4 = v;
        dirty = true;
    }

    public void setEfer(long v) {
        efer = v;
        updateLma();
        dirty = true;
    }

    public void setGdtr(long base, int limit) {
        gdtrBase = base;
        gdtrLimit = limit & 0xFFFF;
    }

    public void setIdtr(long base, int limit) {
        idtrBase = base;
        idtrLimit = limit & 0xFFFF;
    }

    public long gdtrBase() {
        return gdtrBase;
    }

    public int gdtrLimit() {
        return gdtrLimit;
    }

    public long idtrBase() {
        return idtrBase;
    }

    public int idtrLimit() {
        return idtrLimit;
    }

    /** An MSR's value, for set-up and reports. Unknown MSRs throw {@link IllegalArgumentException}. */
    public long msr(int index) {
        long v = readMsr(index);
        if (v == NO_MSR && !knownMsr(index)) {
            throw new IllegalArgumentException("unknown MSR 0x" + Integer.toHexString(index));
        }
        return v;
    }

    public void setMsr(int index, long value) {
        if (!writeMsr(index, value)) {
            throw new IllegalArgumentException("MSR 0x" + Integer.toHexString(index) + " rejects 0x" + Long.toHexString(value));
        }
        dirty = true;
    }

    /** The current privilege level: CS.DPL in protected mode (SDM Vol. 3A 5.5), 0 in real mode. */
    public int cpl() {
        if ((cr0 & 1) == 0) {
            return 0;
        }
        if ((flagsRest & VM) != 0) {
            return 3;
        }
        // a non-conforming code segment's DPL is the CPL; right after CR0.PE is set, CS still holds its
        // real-mode attributes (DPL 0) whatever the selector's low bits; a conforming one keeps RPL = CPL
        return (attr[CS] & 0x1C) == 0x18 ? (attr[CS] >>> 5) & 3 : sel[CS] & 3;
    }

    public String describe() {
        StringBuilder sb = new StringBuilder();
        String[] names = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
            "r13", "r14", "r15"};
        for (int i = 0; i < 16; i++) {
            sb.append(String.format("%-3s=%016x%s", names[i], r[i], i % 4 == 3 ? "\n" : " "));
        }
        sb.append(String.format("rip=%016x rflags=%08x cpl=%d%n", rip, rflags(), cpl()));
        String[] segs = {"es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr"};
        for (int i = 0; i < 8; i++) {
            sb.append(String.format("%-4s=%04x base=%016x limit=%08x attr=%05x%n", segs[i], sel[i], base[i], limit[i], attr[i]));
        }
        sb.append(String.format("cr0=%08x cr2=%016x cr3=%016x cr4=%08x efer=%x%n", cr0, cr2, cr3, cr4, efer));
        sb.append(String.format("gdtr=%016x/%04x idtr=%016x/%04x%n", gdtrBase, gdtrLimit, idtrBase, idtrLimit));
        return sb.toString();
    }

    // ---- flags ---------------------------------------------------------------------------------------

    long arithFlags() {
        long m = ovMask;
        if (m == ARITH) {
            return ovBits;
        }
        long f = 0;
        long res = lfRes, aux = lfAux;
        int bits = lfBits;
        f |= (aux >>> (bits - 1)) & 1;
        f |= (Long.bitCount(res & 0xFF) & 1) == 0 ? PF : 0;
        f |= ((aux >>> 3) & 1) << 4;
        f |= (bits == 64 ? res == 0 : (res << (64 - bits)) == 0) ? ZF : 0;
        f |= ((res >>> (bits - 1)) & 1) << 7;
        f |= (((aux >>> (bits - 2)) ^ (aux >>> (bits - 1))) & 1) << 11;
        return (f & ~m) | (ovBits & m);
    }

    boolean cf() {
        return cf(lfRes, lfAux, lfBits, ovMask, ovBits);
    }

    boolean zf() {
        return zf(lfRes, lfAux, lfBits, ovMask, ovBits);
    }

    boolean sf() {
        return sf(lfRes, lfAux, lfBits, ovMask, ovBits);
    }

    boolean of() {
        return of(lfRes, lfAux, lfBits, ovMask, ovBits);
    }

    boolean pf() {
        return pf(lfRes, lfAux, lfBits, ovMask, ovBits);
    }

    // The lazy-flag functions over the five values of the scheme, shared by the interpreter (through the
    // fields above) and by translated blocks (which keep the five values in JVM locals, so HotSpot folds
    // the flags of an instruction whose setter it can see and drops the ones nobody reads).

    static boolean cf(long res, long aux, int bits, long mask, long ov) {
        return (mask & CF) != 0 ? (ov & CF) != 0 : ((aux >>> (bits - 1)) & 1) != 0;
    }

    static boolean zf(long res, long aux, int bits, long mask, long ov) {
        if ((mask & ZF) != 0) {
            return (ov & ZF) != 0;
        }
        return bits == 64 ? res == 0 : (res << (64 - bits)) == 0;
    }

    static boolean sf(long res, long aux, int bits, long mask, long ov) {
        return (mask & SF) != 0 ? (ov & SF) != 0 : ((res >>> (bits - 1)) & 1) != 0;
    }

    static boolean of(long res, long aux, int bits, long mask, long ov) {
        return (mask & OF) != 0 ? (ov & OF) != 0 : (((aux >>> (bits - 2)) ^ (aux >>> (bits - 1))) & 1) != 0;
    }

    static boolean pf(long res, long aux, int bits, long mask, long ov) {
        return (mask & PF) != 0 ? (ov & PF) != 0 : (Long.bitCount(res & 0xFF) & 1) == 0;
    }

    /** Condition code {@code c} (the low nibble of Jcc/SETcc/CMOVcc, SDM Vol. 1 Appendix B). */
    static boolean condition(int c, long res, long aux, int bits, long mask, long ov) {
        boolean v = switch (c >> 1) {
            case 0 -> of(res, aux, bits, mask, ov);
            case 1 -> cf(res, aux, bits, mask, ov);
            case 2 -> zf(res, aux, bits, mask, ov);
            case 3 -> cf(res, aux, bits, mask, ov) || zf(res, aux, bits, mask, ov);
            case 4 -> sf(res, aux, bits, mask, ov);
            case 5 -> pf(res, aux, bits, mask, ov);
            case 6 -> sf(res, aux, bits, mask, ov) != of(res, aux, bits, mask, ov);
            default -> zf(res, aux, bits, mask, ov) || sf(res, aux, bits, mask, ov) != of(res, aux, bits, mask, ov);
        };
        return v != ((c & 1) != 0);
    }

    /** The carry-out vector of {@code a + b (+ carry) = res}. */
    static long addAux(long a, long b, long res) {
        return (a & b) | ((a | b) & ~res);
    }

    /** The borrow-out vector of {@code a - b (- borrow) = res}. */
    static long subAux(long a, long b, long res) {
        return (~a & b) | (~(a ^ b) & res);
    }

    /** The aux vector that makes CF and OF read as given (setResultCfOf). */
    static long cfOfAux(boolean cf, boolean of, int bits) {
        long c = cf ? 1 : 0;
        long o = of ? 1 : 0;
        return (c << (bits - 1)) | ((c ^ o) << (bits - 2));
    }

    /** All six arithmetic flags from a result and carry-out vector of an operation of {@code bits} bits. */
    void setLazy(long res, long aux, int bits) {
        lfRes = res;
        lfAux = aux;
        lfBits = bits;
        ovMask = 0;
        ovBits = 0; // meaningless under a zero mask; cleared so translated loops do not carry it around
    }

    /** Flags of a result with CF and OF given (AF cleared): shifts, multiplies, logic. */
    void setResultCfOf(long res, boolean cf, boolean of, int bits) {
        setLazy(res, cfOfAux(cf, of, bits), bits);
    }

    /** Sets all six arithmetic flags explicitly. */
    void setArith(long flags) {
        ovMask = ARITH;
        ovBits = flags & ARITH;
    }

    void setFlag(long flag, boolean v) {
        ovMask |= flag;
        ovBits = v ? ovBits | flag : ovBits & ~flag;
    }

    void loadFlags(long v) {
        flagsRest = (v & ~ARITH & 0x3F_7FD5L) | 2;
        setArith(v);
    }

    // ---- mode ----------------------------------------------------------------------------------------

    void updateLma() {
        if ((efer & EFER_LME) != 0 && (cr0 & 0x8000_0000L) != 0) {
            efer |= EFER_LMA;
        } else {
            efer &= ~EFER_LMA;
        }
    }

    // ---- MSRs ----------------------------------------------------------------------------------------

    static final long NO_MSR = 0x8000_0000_0000_0BADL;

    /** IA32_ARCH_CAPABILITIES (enumerated by CPUID.7.0:EDX[29]). */
    static final int MSR_ARCH_CAPABILITIES = 0x10A;

    /**
     * This CPU does not speculate, so it says it is not affected by what the speculation attacks need (SDM Vol. 4
     * Table 2-2): RDCL_NO (Meltdown, L1TF), SSB_NO, MDS_NO, PSCHANGE_MC_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO,
     * PSDP_NO, BHI_NO, PBRSB_NO, GDS_NO, RFDS_NO. A guest then skips the mitigations that would only cost it
     * time here (page-table isolation flushes the TLB at every kernel entry and exit).
     */
    static final long ARCH_CAPABILITIES = 1L | 1L << 4 | 1L << 5 | 1L << 6 | 1L << 8 | 1L << 13 | 1L << 14 | 1L << 15
            | 1L << 20 | 1L << 24 | 1L << 26 | 1L << 27;

    static boolean knownMsr(int index) {
        return switch (index) {
            case MSR_TSC, MSR_APIC_BASE, MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK, MSR_FS_BASE,
                 MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_TSC_AUX, MSR_TSC_DEADLINE, MSR_PAT, MSR_MISC_ENABLE,
                 MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_MTRRCAP, MSR_MTRR_DEF_TYPE,
                 0x3A /* FEATURE_CONTROL */, 0x8B /* BIOS_SIGN_ID */, 0x17 /* PLATFORM_ID */,
                 MSR_ARCH_CAPABILITIES -> true;
            default -> isMtrr(index);
        };
    }

    static boolean isMtrr(int index) {
        return (index >= 0x200 && index <= 0x20F) || index == 0x250 || index == 0x258 || index == 0x259
                || (index >= 0x268 && index <= 0x26F);
    }

    /** The MSR's value, or {@link #NO_MSR} for an MSR this CPU does not have. */
    long readMsr(int index) {
        return switch (index) {
            case MSR_TSC -> clock.tsc() + tscOffset;
            case MSR_APIC_BASE -> apic.apicBase();
            case MSR_EFER -> efer;
            case MSR_STAR -> star;
            case MSR_LSTAR -> lstar;
            case MSR_CSTAR -> cstar;
            case MSR_FMASK -> fmask;
            case MSR_FS_BASE -> base[FS];
            case MSR_GS_BASE -> base[GS];
            case MSR_KERNEL_GS_BASE -> kernelGsBase;
            case MSR_TSC_AUX -> tscAux;
            case MSR_TSC_DEADLINE -> apic.tscDeadline();
            case MSR_PAT -> pat;
            case MSR_MISC_ENABLE -> miscEnable;
            case MSR_SYSENTER_CS -> sysenterCs;
            case MSR_SYSENTER_ESP -> sysenterEsp;
            case MSR_SYSENTER_EIP -> sysenterEip;
            case MSR_MTRRCAP -> 0x508; // 8 variable ranges, fixed ranges, write-combining (SDM Vol. 3A 11.11.1)
            case MSR_MTRR_DEF_TYPE -> mtrrDefType;
            case 0x3A -> 1; // IA32_FEATURE_CONTROL: locked, no VMX
            case 0x8B, 0x17 -> 0;
            case MSR_ARCH_CAPABILITIES -> ARCH_CAPABILITIES;
            default -> isMtrr(index) ? mtrrs.getOrDefault(index, 0L) : NO_MSR;
        };
    }

    /** Writes an MSR; false when the MSR does not exist or rejects the value (the guest gets #GP). */
    boolean writeMsr(int index, long v) {
        switch (index) {
            case MSR_TSC -> tscOffset = v - clock.tsc();
            case MSR_APIC_BASE -> {
                return apic.setApicBase(v);
            }
            case MSR_EFER -> {
                if ((v & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) != 0) {
                    return false;
                }
                efer = (efer & EFER_LMA) | (v & ~EFER_LMA);
                updateLma();
            }
            case MSR_STAR -> star = v;
            case MSR_LSTAR -> {
                if (!canonical(v)) {
                    return false;
                }
                lstar = v;
            }
            case MSR_CSTAR -> cstar = v;
            case MSR_FMASK -> fmask = v & 0xFFFF_FFFFL;
            case MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE -> {
                if (!canonical(v)) {
                    return false;
                }
                if (index == MSR_FS_BASE) {
                    base[FS] = v;
                } else if (index == MSR_GS_BASE) {
                    base[GS] = v;
                } else {
                    kernelGsBase = v;
                }
            }
            case MSR_TSC_AUX -> tscAux = v & 0xFFFF_FFFFL;
            case MSR_TSC_DEADLINE -> apic.setTscDeadline(v);
            case MSR_PAT -> pat = v;
            case MSR_MISC_ENABLE -> miscEnable = v;
            case MSR_SYSENTER_CS -> sysenterCs = v & 0xFFFF;
            case MSR_SYSENTER_ESP -> sysenterEsp = v;
            case MSR_SYSENTER_EIP -> sysenterEip = v;
            case MSR_MTRR_DEF_TYPE -> mtrrDefType = v & 0xCFF;
            case MSR_MTRRCAP, 0x3A, 0x8B, 0x17, MSR_ARCH_CAPABILITIES -> {
                return index == 0x8B; // BIOS_SIGN_ID is written before reading it; the others are read-only
            }
            default -> {
                if (!isMtrr(index)) {
                    return false;
                }
                mtrrs.put(index, v);
            }
        }
        return true;
    }

    static boolean canonical(long v) {
        return (v << 16 >> 16) == v;
    }
}
