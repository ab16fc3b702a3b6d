package dev.apiary.vmm.x86;

/**
 * A translated guest block: a straight run of instructions starting in one 4 KiB code page (and perhaps running on into the next), in 64-bit mode, ending at
 * a branch or before an instruction the translator leaves to the interpreter. {@link Translator} emits each
 * as a hidden class extending this one; it is referenced only from its {@link X86Platform.CodePage}, so when
 * the guest writes the page the block and its class become unreachable and are unloaded.
 */
abstract class Block {
    /** The linear RIP the block was translated at (RIP-relative operands and branch targets depend on it). */
    final long rip;
    /** The instructions, for the ones the block hands to the interpreter. */
    final Insn[] insns;
    /**
     * Guest exceptions raised inside this block (racy across vCPUs, which is harmless): a block that keeps
     * faulting is cut before the faulting instruction, whose exceptions then leave the interpreter, where
     * HotSpot compiles the throw as a jump.
     */
    int faults;
    /**
     * The guest-physical page the block runs on into from its first page, or -1. Set before the block is
     * published; the block is used only while the next linear page still maps there.
     */
    long tailPage = -1;

    Block(long rip, Insn[] insns) {
        this.rip = rip;
        this.insns = insns;
    }

    /**
     * Runs the block (and, for a block that branches back to itself, its loop while fewer than {@code budget}
     * instructions have run and no event is pending). Returns the number of instructions executed, with the
     * registers, flags and RIP written back. A guest exception leaves RIP at the faulting instruction and
     * {@link Cpu#blockDone} at the number of instructions completed before it, then propagates.
     */
    abstract int run(Cpu cpu, int budget);

    /** Marks a start address the translator could do nothing with, so it is not tried again. */
    static final class None extends Block {
        None() {
            super(Long.MIN_VALUE, new Insn[0]);
        }

        @Override
        int run(Cpu cpu, int budget) {
            throw new IllegalStateException("not a translated block");
        }
    }
}
