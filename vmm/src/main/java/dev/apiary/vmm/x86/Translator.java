package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.OpcodeTable.*;
import static org.objectweb.asm.Opcodes.*;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;

/**
 * Translates a hot block of 64-bit guest code into a JVM hidden class ({@link Block}), so HotSpot compiles the
 * guest's instructions instead of the interpreter's dispatch over them.
 *
 * <p>The guest registers a block uses and the five lazy-flag values (CpuState) live in JVM locals while it
 * runs and are written back when it leaves, so HotSpot keeps them in host registers and drops the flag
 * computations no later instruction reads. A block that branches back to its own start loops inside its
 * method. Integer moves, ALU operations, shifts by a constant, IMUL, LEA, CMOV/SETcc, PUSH/POP and
 * Jcc/JMP are emitted as bytecode; other instructions without control or mode effects call the interpreter
 * on the spot (registers spilled around the call); anything else ends the block before it. The emitted code
 * mirrors the interpreter's semantics through the same static helpers (CpuState's flag functions,
 * Interp's shift helpers), and the differential tests run through both.
 *
 * <p>Precision: every instruction performs its possibly-faulting accesses before it changes a register or
 * flag, so on a guest exception the block writes back the locals as they were before the faulting
 * instruction, sets RIP to it, and rethrows for the CPU to deliver. A store into a page holding decoded code
 * (Mmu.codeWritten) ends the block after the storing instruction, so self-modifying code re-decodes.
 */
final class Translator {
    /** At most this many instructions in one block. */
    static final int MAX_INSNS = 64;

    enum Kind { NATIVE, INTERP, END_NATIVE, END_INTERP, STOP }

    private static final String BLOCK = "dev/apiary/vmm/x86/Block";
    private static final String CPU = "dev/apiary/vmm/x86/Cpu";
    private static final String STATE = "dev/apiary/vmm/x86/CpuState";
    private static final String INTERP = "dev/apiary/vmm/x86/Interp";
    private static final String MMU = "dev/apiary/vmm/x86/Mmu";
    private static final String INSN = "dev/apiary/vmm/x86/Insn";
    private static final String FAULT = "dev/apiary/vmm/x86/GuestFault";

    // locals of run(Cpu, int)
    private static final int THIS = 0, CPUL = 1, BUDGET = 2, S = 3, R = 4, N = 5, CUR = 6, RES = 8, AUX = 10,
            BITS = 12, MASK = 13, OV = 15, SPILLED = 17, EXEC = 18, TA = 19, TB = 21, TR = 23, TX = 25, TC = 27,
            REG0 = 28, EXC = REG0 + 32;

    private static final Logger LOG = System.getLogger(Translator.class.getName());
    private static final VarHandle BLOCKS = MethodHandles.arrayElementVarHandle(Block[].class);

    private final MethodHandles.Lookup lookup = MethodHandles.lookup();
    private final AtomicLong translated = new AtomicLong();
    /**
     * One background thread per VM, started on demand and gone after a second idle: translating (ASM, class
     * definition) costs far more than interpreting a block a few more times, so the vCPU does not wait.
     */
    private final ThreadPoolExecutor background = new ThreadPoolExecutor(0, 1, 1, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "x86-translator");
                t.setDaemon(true);
                return t;
            });

    /**
     * Translates a synthetic block on the background thread and drops it: the first translation in a JVM loads
     * and interprets ASM for hundreds of milliseconds, which the guest's first hot loop should not wait for.
     */
    void warmUp() {
        background.execute(() -> {
            try {
                Decoder decoder = new Decoder(new GuestFault());
                // add %rbx,%rax; mov (%rsi),%ecx; shl $3,%rdx; imul %rcx,%rax; dec %rdi; jnz back to the start
                byte[] code = {0x48, 0x01, (byte) 0xD8, (byte) 0x8B, 0x0E, 0x48, (byte) 0xC1, (byte) 0xE2, 0x03, 0x48,
                    0x0F, (byte) 0xAF, (byte) 0xC1, 0x48, (byte) 0xFF, (byte) 0xCF, 0x75, (byte) 0xEE};
                List<Insn> insns = new ArrayList<>();
                int at = 0;
                while (at < code.length) {
                    int from = at;
                    Insn d = decoder.decode(i -> code[from + i] & 0xFF, 64);
                    insns.add(d);
                    at += d.length;
                }
                translate(0x1000, insns);
            } catch (RuntimeException | LinkageError e) {
                LOG.log(Level.WARNING, "warming up the translator", e);
            }
        });
    }

    /**
     * Translates in the background, then publishes the block into {@code slots[off]} (or {@code none} if the
     * translation fails, which is a bug: logged).
     */
    void translateLater(long rip, List<Insn> insns, long tailPage, Block[] slots, int off, Block none) {
        background.execute(() -> {
            Block b;
            try {
                b = translate(rip, insns);
                b.tailPage = tailPage;
            } catch (RuntimeException | LinkageError e) {
                LOG.log(Level.ERROR, "translating the block at " + Long.toHexString(rip), e);
                b = none;
            }
            BLOCKS.setRelease(slots, off, b);
        });
    }

    /** How many blocks were translated (for reports). */
    long translated() {
        return translated.get();
    }

    // ---- classification -----------------------------------------------------------------------------------

    static Kind classify(Insn d, long nextRip) {
        Op op = d.op;
        switch (op) {
            case JCC, JMP -> {
                return d.k1 == K_I && CpuState.canonical(nextRip + d.imm) ? Kind.END_NATIVE : Kind.END_INTERP;
            }
            case CALL, RET, JMP_IND, CALL_IND, LOOP, LOOPE, LOOPNE, JCXZ -> {
                return Kind.END_INTERP;
            }
            default -> { }
        }
        if (nativeForm(d)) {
            return Kind.NATIVE;
        }
        return switch (op.family) {
            case ALU, SHIFT, MULDIV, BIT -> Kind.INTERP;
            case MOVE -> switch (op) {
                case POPF, POP_SEG, MOV_TO_SEG, LOAD_FAR -> Kind.STOP; // IF, segment and shadow changes
                default -> Kind.INTERP;
            };
            case STRING -> op == Op.INS || op == Op.OUTS ? Kind.STOP : Kind.INTERP;
            case SSE, FPU -> Kind.INTERP; // no control, segment or interrupt-flag effects
            case SYSTEM -> switch (op) {
                case CLC, STC, CMC, CLD, STD, CPUID, RDTSC, FENCE, PAUSE -> Kind.INTERP;
                default -> Kind.STOP;
            };
            default -> Kind.STOP;
        };
    }

    private static boolean simple(int k) {
        return k == K_E || k == K_G || k == K_I;
    }

    private static boolean nativeForm(Insn d) {
        return switch (d.op) {
            case ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST -> !d.lock && (d.k1 == K_E || d.k1 == K_G) && simple(d.k2);
            case INC, DEC, NOT, NEG -> !d.lock && d.k1 == K_E;
            case MOV -> (d.k1 == K_E || d.k1 == K_G) && simple(d.k2);
            case MOVZX, MOVSX, MOVSXD, CMOV -> d.k1 == K_G;
            case LEA -> d.mem;
            case SETCC -> d.k1 == K_E;
            case IMUL2, IMUL3 -> d.k1 == K_G;
            case SHL, SAL, SHR, SAR, ROL, ROR -> d.k1 == K_E && (d.k2 == K_I || d.k2 == K_ONE);
            case PUSH -> (d.k1 == K_E || d.k1 == K_I) && (d.osize == 8 || d.osize == 2);
            case POP -> d.k1 == K_E && !d.mem && (d.osize == 8 || d.osize == 2);
            case NOP -> true;
            default -> false;
        };
    }

    // ---- translation --------------------------------------------------------------------------------------

    /** The block of {@code insns} starting at linear {@code rip} (64-bit mode), as a new hidden class. */
    Block translate(long rip, List<Insn> insns) {
        Insn[] arr = insns.toArray(new Insn[0]);
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_FRAMES | ClassWriter.COMPUTE_MAXS) {
            @Override
            protected String getCommonSuperClass(String a, String b) {
                return a.equals(b) ? a : "java/lang/Object";
            }
        };
        cw.visit(V17, ACC_FINAL | ACC_SUPER, "dev/apiary/vmm/x86/TranslatedBlock", null, BLOCK, null);
        MethodVisitor init = cw.visitMethod(0, "<init>", "(J[L" + INSN + ";)V", null, null);
        init.visitCode();
        init.visitVarInsn(ALOAD, 0);
        init.visitVarInsn(LLOAD, 1);
        init.visitVarInsn(ALOAD, 3);
        init.visitMethodInsn(INVOKESPECIAL, BLOCK, "<init>", "(J[L" + INSN + ";)V", false);
        init.visitInsn(RETURN);
        init.visitMaxs(0, 0);
        init.visitEnd();
        MethodVisitor mv = cw.visitMethod(0, "run", "(L" + CPU + ";I)I", null, null);
        new Emitter(mv, rip, arr).emit();
        cw.visitEnd();
        byte[] bytes = cw.toByteArray();
        try {
            MethodHandles.Lookup h = lookup.defineHiddenClass(bytes, false);
            Block b = (Block) h.findConstructor(h.lookupClass(), MethodType.methodType(void.class, long.class, Insn[].class))
                    .invoke(rip, arr);
            translated.incrementAndGet();
            return b;
        } catch (Throwable e) {
            throw new IllegalStateException("translating the block at " + Long.toHexString(rip), e);
        }
    }

    /** Emits the run method of one block. */
    private static final class Emitter {
        private final MethodVisitor mv;
        private final long start;
        private final Insn[] insns;
        private final long[] rips;
        private final Kind[] kinds;
        /** Registers the native code reads or writes, and those it writes (written back at exits). */
        private int used;
        private int written;

        Emitter(MethodVisitor mv, long start, Insn[] insns) {
            this.mv = mv;
            this.start = start;
            this.insns = insns;
            this.rips = new long[insns.length + 1];
            this.kinds = new Kind[insns.length];
            long r = start;
            for (int i = 0; i < insns.length; i++) {
                rips[i] = r;
                r += insns[i].length;
                kinds[i] = classify(insns[i], r);
            }
            rips[insns.length] = r;
            for (int i = 0; i < insns.length; i++) {
                if (kinds[i] == Kind.NATIVE || kinds[i] == Kind.END_NATIVE) {
                    collectRegisters(insns[i]);
                }
            }
        }

        private void use(int n, boolean write) {
            used |= 1 << n;
            if (write) {
                written |= 1 << n;
            }
        }

        private void useByte(int n, boolean rex, boolean write) {
            use(!rex && n >= 4 && n < 8 ? n - 4 : n, write);
        }

        private void collectRegisters(Insn d) {
            if (d.mem) {
                if (d.base >= 0) {
                    use(d.base, false);
                }
                if (d.index >= 0) {
                    use(d.index, false);
                }
            }
            // operands by kind; every register operand is marked read and written (a superset is harmless)
            for (int k : new int[] {d.k1, d.k2, d.k3}) {
                if (k == K_G) {
                    useByte(d.reg, d.rex, true);
                    use(d.reg, true);
                } else if (k == K_E && !d.mem) {
                    useByte(d.rm, d.rex, true);
                    use(d.rm, true);
                }
            }
            if (d.op == Op.PUSH || d.op == Op.POP) {
                use(4, true);
            }
        }

        private static int reg(int n) {
            return REG0 + 2 * n;
        }

        // ---- small emitters ----

        private void lconst(long v) {
            if (v == 0) {
                mv.visitInsn(LCONST_0);
            } else if (v == 1) {
                mv.visitInsn(LCONST_1);
            } else {
                mv.visitLdcInsn(v);
            }
        }

        private void iconst(int v) {
            if (v >= -1 && v <= 5) {
                mv.visitInsn(ICONST_0 + v);
            } else if (v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE) {
                mv.visitIntInsn(BIPUSH, v);
            } else if (v >= Short.MIN_VALUE && v <= Short.MAX_VALUE) {
                mv.visitIntInsn(SIPUSH, v);
            } else {
                mv.visitLdcInsn(v);
            }
        }

        private void maskTo(int size) {
            if (size < 8) {
                lconst(Interp.mask(size));
                mv.visitInsn(LAND);
            }
        }

        /** Pushes getReg(n, size, rex) (Interp). */
        private void loadReg(int n, int size, boolean rex) {
            if (size == 1 && !rex && n >= 4 && n < 8) {
                mv.visitVarInsn(LLOAD, reg(n - 4));
                iconst(8);
                mv.visitInsn(LUSHR);
                lconst(0xFF);
                mv.visitInsn(LAND);
                return;
            }
            mv.visitVarInsn(LLOAD, reg(n));
            maskTo(size);
        }

        /** Pops a long into register n as setReg(n, size, v, rex) does. */
        private void storeReg(int n, int size, boolean rex) {
            switch (size) {
                case 8 -> mv.visitVarInsn(LSTORE, reg(n));
                case 4 -> {
                    maskTo(4);
                    mv.visitVarInsn(LSTORE, reg(n));
                }
                default -> {
                    boolean high = size == 1 && !rex && n >= 4 && n < 8;
                    int target = high ? n - 4 : n;
                    long m = size == 1 ? 0xFF : 0xFFFF;
                    maskTo(size);
                    if (high) {
                        iconst(8);
                        mv.visitInsn(LSHL);
                        m = 0xFF00;
                    }
                    mv.visitVarInsn(LLOAD, reg(target));
                    lconst(~m);
                    mv.visitInsn(LAND);
                    mv.visitInsn(LOR);
                    mv.visitVarInsn(LSTORE, reg(target));
                }
            }
        }

        /** Pushes the effective address of d's memory operand (Interp.ea), with RIP-relative resolved. */
        private void ea(Insn d, long next) {
            long disp = d.disp + (d.ripRel ? next : 0);
            lconst(disp);
            if (d.base >= 0) {
                mv.visitVarInsn(LLOAD, reg(d.base));
                mv.visitInsn(LADD);
            }
            if (d.index >= 0) {
                mv.visitVarInsn(LLOAD, reg(d.index));
                if (d.scale != 0) {
                    iconst(d.scale);
                    mv.visitInsn(LSHL);
                }
                mv.visitInsn(LADD);
            }
            maskTo(d.asize);
        }

        private void memRead(Insn d, long next, int size) {
            mv.visitVarInsn(ALOAD, CPUL);
            iconst(d.seg);
            ea(d, next);
            iconst(size);
            mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "read", "(IJI)J", false);
        }

        /** Writes the long in local {@code from} to d's memory operand. */
        private void memWrite(Insn d, long next, int size, int from) {
            mv.visitVarInsn(ALOAD, CPUL);
            iconst(d.seg);
            ea(d, next);
            iconst(size);
            mv.visitVarInsn(LLOAD, from);
            mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "write", "(IJIJ)V", false);
        }

        private void interp() {
            mv.visitVarInsn(ALOAD, CPUL);
            mv.visitFieldInsn(GETFIELD, CPU, "interp", "L" + INTERP + ";");
        }

        private void rmwRead(Insn d, long next, int size) {
            interp();
            iconst(d.seg);
            ea(d, next);
            iconst(size);
            mv.visitMethodInsn(INVOKEVIRTUAL, INTERP, "readRmwAt", "(IJI)J", false);
        }

        private void rmwWrite(int size, int from) {
            interp();
            iconst(size);
            mv.visitVarInsn(LLOAD, from);
            mv.visitMethodInsn(INVOKEVIRTUAL, INTERP, "writeRmwAt", "(IJ)V", false);
        }

        /** Pushes the operand of kind k (Interp.read). */
        private void readOperand(Insn d, long next, int k, int size) {
            switch (k) {
                case K_E -> {
                    if (d.mem) {
                        memRead(d, next, size);
                    } else {
                        loadReg(d.rm, size, d.rex);
                    }
                }
                case K_G -> loadReg(d.reg, size, d.rex);
                case K_I -> lconst(d.imm & Interp.mask(size));
                case K_ONE -> lconst(1);
                default -> throw new IllegalStateException("operand kind " + k);
            }
        }

        /** Writes local {@code from} to the operand of kind k (Interp.write). */
        private void writeOperand(Insn d, long next, int k, int size, int from) {
            if (k == K_E && d.mem) {
                memWrite(d, next, size, from);
            } else {
                mv.visitVarInsn(LLOAD, from);
                storeReg(k == K_E ? d.rm : d.reg, size, d.rex);
            }
        }

        private void pushFlags() {
            mv.visitVarInsn(LLOAD, RES);
            mv.visitVarInsn(LLOAD, AUX);
            mv.visitVarInsn(ILOAD, BITS);
            mv.visitVarInsn(LLOAD, MASK);
            mv.visitVarInsn(LLOAD, OV);
        }

        /** Pushes condition c as an int (0/1). */
        private void condition(int c) {
            iconst(c);
            pushFlags();
            mv.visitMethodInsn(INVOKESTATIC, STATE, "condition", "(IJJIJJ)Z", false);
        }

        private void cf() {
            pushFlags();
            mv.visitMethodInsn(INVOKESTATIC, STATE, "cf", "(JJIJJ)Z", false);
        }

        /** setLazy(res in local, aux on the stack, bits). */
        private void setLazy(int resLocal, int bits) {
            mv.visitVarInsn(LSTORE, AUX);
            mv.visitVarInsn(LLOAD, resLocal);
            mv.visitVarInsn(LSTORE, RES);
            iconst(bits);
            mv.visitVarInsn(ISTORE, BITS);
            lconst(0);
            mv.visitVarInsn(LSTORE, MASK);
            lconst(0);
            mv.visitVarInsn(LSTORE, OV);
        }

        private void mark(int i) {
            iconst(i);
            mv.visitVarInsn(ISTORE, N);
            lconst(rips[i]);
            mv.visitVarInsn(LSTORE, CUR);
        }

        // ---- state transfer ----

        private void loadRegs(int mask) {
            for (int i = 0; i < 16; i++) {
                if ((mask & (1 << i)) != 0) {
                    mv.visitVarInsn(ALOAD, R);
                    iconst(i);
                    mv.visitInsn(LALOAD);
                    mv.visitVarInsn(LSTORE, reg(i));
                }
            }
        }

        private void storeRegs(int mask) {
            for (int i = 0; i < 16; i++) {
                if ((mask & (1 << i)) != 0) {
                    mv.visitVarInsn(ALOAD, R);
                    iconst(i);
                    mv.visitVarInsn(LLOAD, reg(i));
                    mv.visitInsn(LASTORE);
                }
            }
        }

        private void flagField(int op, String name, String desc, int local) {
            mv.visitVarInsn(ALOAD, S);
            if (op == PUTFIELD) {
                mv.visitVarInsn(desc.equals("I") ? ILOAD : LLOAD, local);
                mv.visitFieldInsn(PUTFIELD, STATE, name, desc);
            } else {
                mv.visitFieldInsn(GETFIELD, STATE, name, desc);
                mv.visitVarInsn(desc.equals("I") ? ISTORE : LSTORE, local);
            }
        }

        private void flags(int op) {
            flagField(op, "lfRes", "J", RES);
            flagField(op, "lfAux", "J", AUX);
            flagField(op, "lfBits", "I", BITS);
            flagField(op, "ovMask", "J", MASK);
            flagField(op, "ovBits", "J", OV);
        }

        /** Writes the state back, RIP = the long on the stack, and returns EXEC + k. */
        private void exitWithRipOnStack(int k) {
            mv.visitVarInsn(LSTORE, TX);
            storeRegs(written);
            flags(PUTFIELD);
            mv.visitVarInsn(ALOAD, S);
            mv.visitVarInsn(LLOAD, TX);
            mv.visitFieldInsn(PUTFIELD, STATE, "rip", "J");
            mv.visitVarInsn(ILOAD, EXEC);
            iconst(k);
            mv.visitInsn(IADD);
            mv.visitInsn(IRETURN);
        }

        private void exit(long rip, int k) {
            lconst(rip);
            exitWithRipOnStack(k);
        }

        /** After a store: if it hit a page with decoded code, leave before the next instruction. */
        private void checkCodeWritten(int i) {
            Label ok = new Label();
            mv.visitVarInsn(ALOAD, CPUL);
            mv.visitFieldInsn(GETFIELD, CPU, "mmu", "L" + MMU + ";");
            mv.visitFieldInsn(GETFIELD, MMU, "codeWritten", "Z");
            mv.visitJumpInsn(IFEQ, ok);
            exit(rips[i + 1], i + 1);
            mv.visitLabel(ok);
        }

        // ---- the method ----

        void emit() {
            mv.visitCode();
            Label tryStart = new Label();
            Label tryEnd = new Label();
            Label handler = new Label();
            mv.visitTryCatchBlock(tryStart, tryEnd, handler, FAULT);
            mv.visitVarInsn(ALOAD, CPUL);
            mv.visitFieldInsn(GETFIELD, CPU, "s", "L" + STATE + ";");
            mv.visitVarInsn(ASTORE, S);
            mv.visitVarInsn(ALOAD, S);
            mv.visitFieldInsn(GETFIELD, STATE, "r", "[J");
            mv.visitVarInsn(ASTORE, R);
            for (int i = 0; i < 16; i++) {
                lconst(0);
                mv.visitVarInsn(LSTORE, reg(i));
            }
            loadRegs(used);
            flags(GETFIELD);
            iconst(0);
            mv.visitVarInsn(ISTORE, N);
            lconst(start);
            mv.visitVarInsn(LSTORE, CUR);
            iconst(0);
            mv.visitVarInsn(ISTORE, SPILLED);
            iconst(0);
            mv.visitVarInsn(ISTORE, EXEC);
            for (int t : new int[] {TA, TB, TR, TX}) {
                lconst(0);
                mv.visitVarInsn(LSTORE, t);
            }
            iconst(0);
            mv.visitVarInsn(ISTORE, TC);
            mv.visitVarInsn(ALOAD, CPUL);
            mv.visitFieldInsn(GETFIELD, CPU, "mmu", "L" + MMU + ";");
            iconst(0);
            mv.visitFieldInsn(PUTFIELD, MMU, "codeWritten", "Z");
            mv.visitLabel(tryStart);
            Label loop = new Label();
            mv.visitLabel(loop);
            boolean ended = false;
            for (int i = 0; i < insns.length; i++) {
                Insn d = insns[i];
                switch (kinds[i]) {
                    case NATIVE -> emitNative(d, i);
                    case INTERP, END_INTERP -> emitInterp(d, i);
                    case END_NATIVE -> emitBranch(d, i, loop);
                    default -> throw new IllegalStateException("untranslatable " + d.op);
                }
                if (kinds[i] == Kind.END_INTERP || kinds[i] == Kind.END_NATIVE) {
                    ended = true;
                    break;
                }
            }
            if (!ended) {
                exit(rips[insns.length], insns.length);
            }
            mv.visitLabel(tryEnd);
            // a guest exception: state as before the faulting instruction, RIP at it
            mv.visitLabel(handler);
            mv.visitVarInsn(ASTORE, EXC);
            Label spilled = new Label();
            mv.visitVarInsn(ILOAD, SPILLED);
            mv.visitJumpInsn(IFNE, spilled);
            storeRegs(written);
            flags(PUTFIELD);
            mv.visitLabel(spilled);
            mv.visitVarInsn(ALOAD, S);
            mv.visitVarInsn(LLOAD, CUR);
            mv.visitFieldInsn(PUTFIELD, STATE, "rip", "J");
            mv.visitVarInsn(ALOAD, CPUL);
            mv.visitVarInsn(ILOAD, EXEC);
            mv.visitVarInsn(ILOAD, N);
            mv.visitInsn(IADD);
            mv.visitFieldInsn(PUTFIELD, CPU, "blockDone", "I");
            mv.visitVarInsn(ALOAD, EXC);
            mv.visitInsn(ATHROW);
            mv.visitMaxs(0, 0);
            mv.visitEnd();
        }

        /** An instruction run by the interpreter in the middle of the block. */
        private void emitInterp(Insn d, int i) {
            storeRegs(used);
            flags(PUTFIELD);
            iconst(1);
            mv.visitVarInsn(ISTORE, SPILLED);
            mark(i);
            mv.visitVarInsn(ALOAD, S);
            lconst(rips[i]);
            mv.visitFieldInsn(PUTFIELD, STATE, "rip", "J");
            mv.visitVarInsn(ALOAD, CPUL);
            lconst(rips[i + 1]);
            mv.visitFieldInsn(PUTFIELD, CPU, "nextRip", "J");
            interp();
            mv.visitVarInsn(ALOAD, THIS);
            mv.visitFieldInsn(GETFIELD, BLOCK, "insns", "[L" + INSN + ";");
            iconst(i);
            mv.visitInsn(AALOAD);
            mv.visitMethodInsn(INVOKEVIRTUAL, INTERP, "execute", "(L" + INSN + ";)V", false);
            loadRegs(used);
            flags(GETFIELD);
            iconst(0);
            mv.visitVarInsn(ISTORE, SPILLED);
            if (kinds[i] == Kind.END_INTERP) {
                mv.visitVarInsn(ALOAD, CPUL);
                mv.visitFieldInsn(GETFIELD, CPU, "nextRip", "J");
                exitWithRipOnStack(i + 1);
                return;
            }
            // an instruction that chose another RIP (a REP string yielding) ends the block there
            Label same = new Label();
            mv.visitVarInsn(ALOAD, CPUL);
            mv.visitFieldInsn(GETFIELD, CPU, "nextRip", "J");
            lconst(rips[i + 1]);
            mv.visitInsn(LCMP);
            mv.visitJumpInsn(IFEQ, same);
            mv.visitVarInsn(ALOAD, CPUL);
            mv.visitFieldInsn(GETFIELD, CPU, "nextRip", "J");
            exitWithRipOnStack(i + 1);
            mv.visitLabel(same);
            checkCodeWritten(i);
        }

        /** Jcc/JMP rel: leave the block, or loop when the target is the block's start. */
        private void emitBranch(Insn d, int i, Label loop) {
            long next = rips[i + 1];
            long target = next + d.imm;
            Label notTaken = new Label();
            if (d.op == Op.JCC) {
                condition(d.aux);
                mv.visitJumpInsn(IFEQ, notTaken);
            }
            if (target == start) {
                // a loop: go round again while the budget lasts and nothing is pending
                int len = i + 1;
                Label leave = new Label();
                mv.visitIincInsn(EXEC, len);
                mv.visitVarInsn(ILOAD, EXEC);
                iconst(len);
                mv.visitInsn(IADD);
                mv.visitVarInsn(ILOAD, BUDGET);
                mv.visitJumpInsn(IF_ICMPGT, leave);
                mv.visitVarInsn(ALOAD, CPUL);
                mv.visitFieldInsn(GETFIELD, CPU, "events", "I");
                mv.visitJumpInsn(IFNE, leave);
                mv.visitVarInsn(ALOAD, CPUL);
                mv.visitFieldInsn(GETFIELD, CPU, "mmu", "L" + MMU + ";");
                mv.visitFieldInsn(GETFIELD, MMU, "mmioWritten", "Z");
                mv.visitJumpInsn(IFNE, leave);
                mv.visitJumpInsn(GOTO, loop);
                mv.visitLabel(leave);
                exit(start, 0);
            } else {
                exit(target, i + 1);
            }
            if (d.op == Op.JCC) {
                mv.visitLabel(notTaken);
                exit(next, i + 1);
            }
        }

        private void emitNative(Insn d, int i) {
            long next = rips[i + 1];
            boolean memory = d.mem && d.op != Op.LEA && d.op != Op.NOP || d.op == Op.PUSH || d.op == Op.POP;
            if (memory) {
                mark(i);
            }
            boolean stores;
            switch (d.op) {
                case ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST -> stores = alu(d, next);
                case INC, DEC, NOT, NEG -> stores = unary(d, next);
                case MOV -> {
                    readOperand(d, next, d.k2, d.s2);
                    mv.visitVarInsn(LSTORE, TR);
                    writeOperand(d, next, d.k1, d.s1, TR);
                    stores = d.k1 == K_E && d.mem;
                }
                case MOVZX -> {
                    readOperand(d, next, K_E, d.s2);
                    storeReg(d.reg, d.s1, d.rex);
                    stores = false;
                }
                case MOVSX -> {
                    readOperand(d, next, K_E, d.s2);
                    iconst(d.s2);
                    mv.visitMethodInsn(INVOKESTATIC, INTERP, "sext", "(JI)J", false);
                    storeReg(d.reg, d.s1, d.rex);
                    stores = false;
                }
                case MOVSXD -> {
                    if (d.s1 == 8) {
                        readOperand(d, next, K_E, 4);
                        iconst(4);
                        mv.visitMethodInsn(INVOKESTATIC, INTERP, "sext", "(JI)J", false);
                    } else {
                        readOperand(d, next, K_E, d.s1);
                    }
                    storeReg(d.reg, d.s1, d.rex);
                    stores = false;
                }
                case LEA -> {
                    ea(d, next);
                    storeReg(d.reg, d.s1, d.rex);
                    stores = false;
                }
                case CMOV -> {
                    readOperand(d, next, K_E, d.s1);
                    mv.visitVarInsn(LSTORE, TA);
                    Label no = new Label();
                    Label done = new Label();
                    condition(d.aux);
                    mv.visitJumpInsn(IFEQ, no);
                    mv.visitVarInsn(LLOAD, TA);
                    storeReg(d.reg, d.s1, d.rex);
                    mv.visitJumpInsn(GOTO, done);
                    mv.visitLabel(no);
                    if (d.s1 == 4) {
                        loadReg(d.reg, 4, d.rex);
                        storeReg(d.reg, 4, d.rex);
                    }
                    mv.visitLabel(done);
                    stores = false;
                }
                case SETCC -> {
                    condition(d.aux);
                    mv.visitInsn(I2L);
                    mv.visitVarInsn(LSTORE, TR);
                    writeOperand(d, next, K_E, 1, TR);
                    stores = d.mem;
                }
                case IMUL2, IMUL3 -> {
                    imul(d, next);
                    stores = false;
                }
                case SHL, SAL, SHR, SAR, ROL, ROR -> stores = shift(d, next);
                case PUSH -> {
                    readOperand(d, next, d.k1, d.osize);
                    mv.visitVarInsn(LSTORE, TR);
                    mv.visitVarInsn(LLOAD, reg(4));
                    lconst(d.osize);
                    mv.visitInsn(LSUB);
                    mv.visitVarInsn(LSTORE, TA);
                    mv.visitVarInsn(ALOAD, CPUL);
                    iconst(CpuState.SS);
                    mv.visitVarInsn(LLOAD, TA);
                    iconst(d.osize);
                    mv.visitVarInsn(LLOAD, TR);
                    mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "write", "(IJIJ)V", false);
                    mv.visitVarInsn(LLOAD, TA);
                    mv.visitVarInsn(LSTORE, reg(4));
                    stores = true;
                }
                case POP -> {
                    mv.visitVarInsn(ALOAD, CPUL);
                    iconst(CpuState.SS);
                    mv.visitVarInsn(LLOAD, reg(4));
                    iconst(d.osize);
                    mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "read", "(IJI)J", false);
                    mv.visitVarInsn(LSTORE, TR);
                    mv.visitVarInsn(LLOAD, reg(4));
                    lconst(d.osize);
                    mv.visitInsn(LADD);
                    mv.visitVarInsn(LSTORE, reg(4));
                    mv.visitVarInsn(LLOAD, TR);
                    storeReg(d.rm, d.osize, d.rex);
                    stores = false;
                }
                case NOP -> stores = false;
                default -> throw new IllegalStateException("no native form for " + d.op);
            }
            if (stores) {
                checkCodeWritten(i);
            }
        }

        /** Binary ALU operations (Interp.alu and aluOp); returns whether it stored to memory. */
        private boolean alu(Insn d, long next) {
            Op op = d.op;
            int size = d.s1;
            int bits = size * 8;
            boolean compare = op == Op.CMP || op == Op.TEST;
            boolean rmw = d.k1 == K_E && d.mem && !compare;
            readOperand(d, next, d.k2, size);
            mv.visitVarInsn(LSTORE, TB);
            if (rmw) {
                rmwRead(d, next, size);
            } else {
                readOperand(d, next, d.k1, size);
            }
            mv.visitVarInsn(LSTORE, TA);
            mv.visitVarInsn(LLOAD, TA);
            mv.visitVarInsn(LLOAD, TB);
            switch (op) {
                case ADD, ADC -> mv.visitInsn(LADD);
                case SUB, SBB, CMP -> mv.visitInsn(LSUB);
                case AND, TEST -> mv.visitInsn(LAND);
                case OR -> mv.visitInsn(LOR);
                default -> mv.visitInsn(LXOR);
            }
            if (op == Op.ADC || op == Op.SBB) {
                cf();
                mv.visitInsn(I2L);
                mv.visitInsn(op == Op.ADC ? LADD : LSUB);
            }
            mv.visitVarInsn(LSTORE, TR);
            if (rmw) {
                rmwWrite(size, TR);
            } else if (!compare) {
                writeOperand(d, next, d.k1, size, TR);
            }
            switch (op) {
                case ADD, ADC, SUB, SBB, CMP -> {
                    mv.visitVarInsn(LLOAD, TA);
                    mv.visitVarInsn(LLOAD, TB);
                    mv.visitVarInsn(LLOAD, TR);
                    boolean add = op == Op.ADD || op == Op.ADC;
                    mv.visitMethodInsn(INVOKESTATIC, STATE, add ? "addAux" : "subAux", "(JJJ)J", false);
                }
                default -> lconst(0);
            }
            setLazy(TR, bits);
            return rmw || !compare && d.k1 == K_E && d.mem;
        }

        /** INC, DEC, NOT, NEG (Interp.unary). */
        private boolean unary(Insn d, long next) {
            int size = d.s1;
            int bits = size * 8;
            if (d.mem) {
                rmwRead(d, next, size);
            } else {
                loadReg(d.rm, size, d.rex);
            }
            mv.visitVarInsn(LSTORE, TA);
            Op op = d.op;
            if (op == Op.INC || op == Op.DEC) {
                cf();
                mv.visitVarInsn(ISTORE, TC);
            }
            mv.visitVarInsn(LLOAD, TA);
            switch (op) {
                case INC -> {
                    lconst(1);
                    mv.visitInsn(LADD);
                }
                case DEC -> {
                    lconst(1);
                    mv.visitInsn(LSUB);
                }
                case NOT -> {
                    lconst(-1);
                    mv.visitInsn(LXOR);
                }
                default -> mv.visitInsn(LNEG);
            }
            mv.visitVarInsn(LSTORE, TR);
            if (d.mem) {
                rmwWrite(size, TR);
            } else {
                mv.visitVarInsn(LLOAD, TR);
                storeReg(d.rm, size, d.rex);
            }
            switch (op) {
                case INC, DEC -> {
                    mv.visitVarInsn(LLOAD, TA);
                    lconst(1);
                    mv.visitVarInsn(LLOAD, TR);
                    mv.visitMethodInsn(INVOKESTATIC, STATE, op == Op.INC ? "addAux" : "subAux", "(JJJ)J", false);
                    setLazy(TR, bits);
                    // setFlag(CF, c): CF kept from before
                    lconst(CpuState.CF);
                    mv.visitVarInsn(LSTORE, MASK);
                    mv.visitVarInsn(LLOAD, OV);
                    lconst(~CpuState.CF);
                    mv.visitInsn(LAND);
                    mv.visitVarInsn(ILOAD, TC);
                    mv.visitInsn(I2L);
                    mv.visitInsn(LOR);
                    mv.visitVarInsn(LSTORE, OV);
                }
                case NEG -> {
                    mv.visitVarInsn(LLOAD, TA);
                    mv.visitVarInsn(LLOAD, TR);
                    mv.visitInsn(LOR);
                    setLazy(TR, bits);
                }
                default -> { }
            }
            return d.mem;
        }

        /** IMUL r, r/m (, imm) (Interp.mulDiv). */
        private void imul(Insn d, long next) {
            int size = d.s1;
            readOperand(d, next, K_E, size);
            iconst(size);
            mv.visitMethodInsn(INVOKESTATIC, INTERP, "sext", "(JI)J", false);
            mv.visitVarInsn(LSTORE, TA);
            if (d.op == Op.IMUL2) {
                loadReg(d.reg, size, d.rex);
            } else {
                lconst(d.imm);
            }
            iconst(size);
            mv.visitMethodInsn(INVOKESTATIC, INTERP, "sext", "(JI)J", false);
            mv.visitVarInsn(LSTORE, TB);
            mv.visitVarInsn(LLOAD, TA);
            mv.visitVarInsn(LLOAD, TB);
            mv.visitInsn(LMUL);
            mv.visitVarInsn(LSTORE, TR);
            mv.visitVarInsn(LLOAD, TR);
            storeReg(d.reg, size, d.rex);
            mv.visitVarInsn(LLOAD, TA);
            mv.visitVarInsn(LLOAD, TB);
            mv.visitVarInsn(LLOAD, TR);
            iconst(size);
            mv.visitMethodInsn(INVOKESTATIC, INTERP, "imulOverflow", "(JJJI)Z", false);
            mv.visitInsn(DUP);
            iconst(size * 8);
            mv.visitMethodInsn(INVOKESTATIC, STATE, "cfOfAux", "(ZZI)J", false);
            setLazy(TR, size * 8);
        }

        /** Shifts and rotates by a constant (Interp.shift). */
        private boolean shift(Insn d, long next) {
            int size = d.s1;
            int cnt = (int) ((d.k2 == K_ONE ? 1 : d.imm & 0xFF) & (size == 8 ? 63 : 31));
            if (cnt == 0) {
                if (!d.mem && size == 4) {
                    loadReg(d.rm, 4, d.rex);
                    storeReg(d.rm, 4, d.rex);
                }
                return false;
            }
            if (d.mem) {
                rmwRead(d, next, size);
            } else {
                loadReg(d.rm, size, d.rex);
            }
            mv.visitVarInsn(LSTORE, TA);
            boolean rotate = d.op == Op.ROL || d.op == Op.ROR;
            if (rotate) {
                iconst(d.op == Op.ROL ? 1 : 0);
                mv.visitVarInsn(LLOAD, TA);
                iconst(cnt);
                iconst(size);
                mv.visitMethodInsn(INVOKESTATIC, INTERP, "rotateResult", "(ZJII)J", false);
            } else {
                iconst(Interp.shiftKind(d.op));
                mv.visitVarInsn(LLOAD, TA);
                iconst(cnt);
                iconst(size);
                mv.visitMethodInsn(INVOKESTATIC, INTERP, "shiftResult", "(IJII)J", false);
            }
            mv.visitVarInsn(LSTORE, TR);
            if (d.mem) {
                rmwWrite(size, TR);
            } else {
                mv.visitVarInsn(LLOAD, TR);
                storeReg(d.rm, size, d.rex);
            }
            if (rotate) {
                mv.visitVarInsn(LLOAD, MASK);
                lconst(CpuState.CF | CpuState.OF);
                mv.visitInsn(LOR);
                mv.visitVarInsn(LSTORE, MASK);
                mv.visitVarInsn(LLOAD, OV);
                lconst(~(CpuState.CF | CpuState.OF));
                mv.visitInsn(LAND);
                iconst(d.op == Op.ROL ? 1 : 0);
                mv.visitVarInsn(LLOAD, TR);
                iconst(size);
                mv.visitMethodInsn(INVOKESTATIC, INTERP, "rotateFlags", "(ZJI)J", false);
                mv.visitInsn(LOR);
                mv.visitVarInsn(LSTORE, OV);
            } else {
                iconst(Interp.shiftKind(d.op));
                mv.visitVarInsn(LLOAD, TA);
                iconst(cnt);
                iconst(size);
                mv.visitMethodInsn(INVOKESTATIC, INTERP, "shiftAux", "(IJII)J", false);
                setLazy(TR, size * 8);
            }
            return d.mem;
        }
    }
}
