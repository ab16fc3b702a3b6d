package dev.apiary.vmm.x86;

import dev.apiary.vmm.x86.OpcodeTable.Entry;

/**
 * One decoded instruction, cached per guest-physical page and immutable once decoded: the handler, its
 * operands resolved to register numbers, the memory operand's parts, immediates and sizes.
 */
final class Insn {
    Entry entry;
    Op op;
    /** Decoding mode (16, 32, 64): a cached instruction is reused only in the mode it was decoded in. */
    int mode;
    int length;
    /** Operand size and address size in bytes. */
    int osize;
    int asize;
    /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
    int rep;
    boolean lock;
    /** Any REX prefix: byte registers 4-7 are SPL..DIL instead of AH..BH. */
    boolean rex;
    /** Operand kinds (OpcodeTable.K_*) and sizes in bytes, after resolution. */
    int k1, k2, k3;
    int s1, s2, s3;
    /** ModRM.reg with REX.R (or a fixed register); the r/m register with REX.B when not memory. */
    int reg;
    int rm;
    boolean mem;
    /** Memory operand: base and index register (-1 none), scale shift, displacement, RIP-relative. */
    int base = -1;
    int index = -1;
    int scale;
    long disp;
    boolean ripRel;
    /** Segment of the memory operand (the override, or DS/SS by the base register). */
    int seg = CpuState.DS;
    /** Whether a segment override prefix was present (string sources). */
    boolean segOverride;
    long imm;
    long imm2;
    int aux;
    byte[] bytes;

    String disassemble() {
        StringBuilder sb = new StringBuilder(entry == null ? "(bad)" : entry.mnemonic);
        if (rep == 1) {
            sb.insert(0, "rep ");
        } else if (rep == 2) {
            sb.insert(0, "repne ");
        }
        if (lock) {
            sb.insert(0, "lock ");
        }
        sb.append(" o").append(osize * 8).append(" a").append(asize * 8);
        if (mem) {
            sb.append(" [").append(ripRel ? "rip" : base >= 0 ? "r" + base : "").append(index >= 0 ? "+r" + index + "*" + (1 << scale) : "")
                    .append(disp < 0 ? "-0x" : "+0x").append(Long.toHexString(Math.abs(disp))).append(']');
        }
        return sb.toString();
    }
}
