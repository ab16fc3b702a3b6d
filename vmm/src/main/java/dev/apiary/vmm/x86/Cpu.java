package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.CpuState.*;
import static dev.apiary.vmm.x86.OpcodeTable.*;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * One software x86-64 vCPU: fetch through the decoded-code cache, execute, deliver interrupts and exceptions
 * at instruction boundaries. {@link #run} executes on the calling thread; the {@link VcpuSignals} methods and
 * {@link #requestExit} may be called from any thread.
 */
public final class Cpu implements VcpuSignals {
    /**
     * Why {@link #run} returned. {@code INTERNAL_ERROR}: a bug of this CPU or of a device behind the bus threw
     * while executing an instruction; {@link #internalError()} says what, and the vCPU does not run again.
     */
    public enum Exit { BUDGET, HALTED, WAITING_FOR_SIPI, SHUTDOWN, EXIT_REQUESTED, INTERNAL_ERROR }

    private static final Logger LOG = System.getLogger(Cpu.class.getName());
    private static final VarHandle EVENTS;
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(Insn[].class);
    private static final VarHandle BLOCKS = MethodHandles.arrayElementVarHandle(Block[].class);
    /** Marks a block start the translator declined, so it is not tried again (immutable). */
    private static final Block NO_BLOCK = new Block.None();
    /** Marks a block start whose translation is under way in the background (immutable). */
    private static final Block PENDING = new Block.None();

    static {
        try {
            EVENTS = MethodHandles.lookup().findVarHandle(Cpu.class, "events", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final int EV_EXIT = 1, EV_NMI = 2, EV_INIT = 4, EV_SIPI = 8, EV_IRQ = 16;
    private static final int POLL_INTERVAL = 4096;
    private static final int RING = 64;

    final X86Platform platform;
    final LocalInterrupts apic;
    final CpuConfig config;
    final CpuState s;
    final GuestFault fault = new GuestFault();
    final Mmu mmu;
    private final Decoder decoder = new Decoder(fault);
    private final CpuBus bus;

    /** Pending cross-thread events (EV_*); translated loops read it at every iteration. */
    volatile int events;
    private volatile int sipiVector;
    private volatile Thread waiter;
    private volatile boolean wakeToken;

    // mode, recomputed from the state by updateMode()
    int codeMode = 16;
    boolean protectedMode;
    boolean longMode;
    int cpl;
    /** Stack address size in bytes (2, 4, 8). */
    int stackSize = 2;

    boolean halted;
    boolean waitingForSipi;
    boolean shutdown;
    /** Instructions left under an STI / MOV SS interrupt shadow. */
    int shadow;
    boolean nmiBlocked;
    /** Some source may have an interrupt: ask the local APIC at the next boundary where IF allows. */
    boolean irqCheck = true;
    long icount;
    long nextRip;
    /** Set by a translated block that raised a guest exception: instructions it completed before the fault. */
    int blockDone;
    /** The next instruction starts a block (after a branch, an exception, a block): look for a translation. */
    private boolean blockHead = true;

    // decoded-code lookup cache
    // decoded-code lookup cache: direct-mapped by linear page, each entry valid within one TLB generation and
    // for one privilege level, so a guest bouncing between a few pages (a loop, its handler) finds them all
    private static final int CODE_CACHE = 64;
    private final long[] codeTag = new long[CODE_CACHE];
    private final int[] codeGeneration = new int[CODE_CACHE];
    private final boolean[] codeUser = new boolean[CODE_CACHE];
    private final X86Platform.CodePage[] codePages = new X86Platform.CodePage[CODE_CACHE];
    private long fetchLinear;

    // exception nesting (SDM Vol. 3A 6.15, Table 6-5)
    private int delivering = -1;

    private final long[] ringRip = new long[RING];
    private final long[] ringLinear = new long[RING];
    private final Insn[] ringInsn = new Insn[RING];
    private int ringPos;

    final Interp interp;

    public Cpu(X86Platform platform, LocalInterrupts apic, CpuConfig config) {
        this.platform = platform;
        this.apic = apic;
        this.config = config;
        this.bus = platform.bus;
        this.s = new CpuState(apic, platform.clock);
        this.mmu = new Mmu(s, platform, fault);
        this.interp = new Interp(this);
        Arrays.fill(codeTag, -1);
        reset();
    }

    // ---- public API -------------------------------------------------------------------------------------

    /** Power-on / RESET state (SDM Vol. 3A 9.1.1, Table 9-1). An AP then waits for SIPI. */
    public void reset() {
        resetRegisters();
        s.fpu.reset(); // INIT keeps the x87/SSE state (SDM Vol. 3A Table 9-1); RESET clears it
        waitingForSipi = config.index() > 0;
        halted = false;
        shutdown = false;
        nmiBlocked = false;
        EVENTS.getAndBitwiseAnd(this, EV_EXIT);
    }

    /**
     * Puts this vCPU at the reset vector, running (also an application processor): the registers as at RESET,
     * the x87/SSE state kept. For firmware boot, after {@link #reset}.
     */
    public void resetToVector() {
        resetRegisters();
        waitingForSipi = false;
        halted = false;
    }

    private void resetRegisters() {
        for (int i = 0; i < 16; i++) {
            s.r[i] = 0;
        }
        s.r[2] = Cpuid.signature();
        s.rip = 0xFFF0;
        s.loadFlags(2);
        s.cr0 = 0x6000_0010L;
        s.cr2 = s.cr3 = s.cr4 = s.efer = 0;
        for (int i = 0; i < 6; i++) {
            s.loadSeg(i, 0, 0, 0xFFFF, 0x93);
        }
        s.loadSeg(CS, 0xF000, 0xFFFF_0000L, 0xFFFF, 0x9B);
        s.loadSeg(LDTR, 0, 0, 0xFFFF, 0x82);
        s.loadSeg(TR, 0, 0, 0xFFFF, 0x8B);
        s.setGdtr(0, 0xFFFF);
        s.setIdtr(0, 0xFFFF);
        s.star = s.lstar = s.cstar = s.fmask = s.kernelGsBase = 0;
        s.dr[6] = 0xFFFF0FF0L;
        s.dr[7] = 0x400;
        shadow = 0;
        s.dirty = true;
    }

    public CpuState state() {
        return s;
    }

    public long instructions() {
        return icount;
    }

    /** Instructions run one at a time by the interpreter (the rest ran in translated blocks). */
    private long interpreted;

    /** How many instructions the interpreter ran one at a time. */
    long interpreted() {
        return interpreted;
    }

    /** Where this vCPU's instructions ran, and what the VM's code cache did: for {@code -Dapiary.x86.stats}. */
    public String statistics() {
        return String.format("%,d instructions, %.1f%% interpreted; VM: %s", icount,
                icount == 0 ? 0.0 : 100.0 * interpreted / icount, platform.statistics());
    }

    public void requestExit() {
        signal(EV_EXIT);
    }

    @Override
    public void interruptPending() {
        signal(EV_IRQ);
    }

    @Override
    public void nmi() {
        signal(EV_NMI);
    }

    @Override
    public void init() {
        signal(EV_INIT);
    }

    @Override
    public void startup(int vector) {
        sipiVector = vector & 0xFF;
        signal(EV_SIPI);
    }

    private void signal(int ev) {
        EVENTS.getAndBitwiseOr(this, ev);
        wakeToken = true;
        Thread t = waiter;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    public void awaitEvent(long deadlineNanos) {
        Thread me = Thread.currentThread();
        waiter = me;
        try {
            while (!wakeToken) {
                long now = System.nanoTime();
                if (now - deadlineNanos >= 0 && deadlineNanos != Long.MAX_VALUE) {
                    return;
                }
                if (deadlineNanos == Long.MAX_VALUE) {
                    LockSupport.park(this);
                } else {
                    LockSupport.parkNanos(this, deadlineNanos - now);
                }
                if (Thread.interrupted()) {
                    me.interrupt();
                    return;
                }
            }
            wakeToken = false;
        } finally {
            waiter = null;
        }
    }

    /** What went wrong when {@link #run} returned {@link Exit#INTERNAL_ERROR}, else null. */
    public String internalError() {
        return internalError;
    }

    public String recentInstructions() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < RING; i++) {
            int k = (ringPos + i) & (RING - 1);
            Insn d = ringInsn[k];
            if (d == null) {
                continue;
            }
            sb.append(String.format("%016x lin=%016x m%-2d %-30s %s%n", ringRip[k], ringLinear[k], d.mode,
                    HexFormat.of().formatHex(d.bytes), d.disassemble()));
        }
        return sb.toString();
    }

    // ---- run loop -----------------------------------------------------------------------------------------

    /** Set when executing an instruction threw a Java exception (a VMM bug); the vCPU stops for good. */
    private String internalError;

    public Exit run(long maxInstructions) {
        if (s.dirty) {
            updateMode();
            mmu.flush(false);
            s.dirty = false;
        }
        long nextPoll = 0;
        long end = icount + maxInstructions;
        for (;;) {
            if (events != 0) {
                Exit x = handleEvents();
                if (x != null) {
                    return x;
                }
            }
            if (shutdown) {
                return Exit.SHUTDOWN;
            }
            if (internalError != null) {
                return Exit.INTERNAL_ERROR;
            }
            if (waitingForSipi) {
                return Exit.WAITING_FOR_SIPI;
            }
            if (icount >= nextPoll) {
                apic.poll(System.nanoTime());
                irqCheck = true;
                nextPoll = icount + POLL_INTERVAL;
            }
            if (mmu.mmioWritten) {
                // a write to the local APIC (EOI, TPR, ICR) may make another interrupt deliverable
                mmu.mmioWritten = false;
                irqCheck = true;
            }
            if (irqCheck && shadow == 0 && (s.flagsRest & IF) != 0) {
                if (apic.hasInterrupt()) {
                    int v = apic.acknowledge();
                    if (v >= 0) {
                        halted = false;
                        deliverEvent(v, -1, false, true);
                        if (shutdown) {
                            return Exit.SHUTDOWN;
                        }
                        continue;
                    }
                }
                irqCheck = false;
            }
            if (halted) {
                return Exit.HALTED;
            }
            if (icount >= end) {
                return Exit.BUDGET;
            }
            // Between the checks above, run instructions (and translated blocks) until something needs them:
            // an event, an MMIO write, an interrupt window with a possible interrupt, a halt, the next poll.
            long limit = Math.min(end, nextPoll);
            boolean translate = platform.translateThreshold > 0;
            blockHead = true;
            do {
                Block b = translate && blockHead ? findBlock() : null;
                if (b != null) {
                    runBlock(b, limit, end);
                } else {
                    step();
                }
            } while (events == 0 && !mmu.mmioWritten && !(irqCheck && shadow == 0 && (s.flagsRest & IF) != 0)
                    && icount < limit && !halted && !shutdown && !waitingForSipi && internalError == null);
        }
    }

    private Exit handleEvents() {
        int ev = (int) EVENTS.getAndSet(this, 0);
        Exit result = null;
        if ((ev & EV_IRQ) != 0) {
            irqCheck = true;
        }
        if ((ev & EV_INIT) != 0) {
            // INIT (SDM Vol. 3A 9.1.1): registers as at RESET, MSRs and caches kept, then wait for SIPI
            long efer = s.efer;
            resetRegisters();
            s.efer = efer & 0; // EFER is cleared by INIT
            waitingForSipi = true;
            halted = false;
            s.dirty = true;
            updateMode();
            mmu.flush(false);
            s.dirty = false;
        }
        if ((ev & EV_SIPI) != 0 && waitingForSipi) {
            int v = sipiVector;
            s.loadSeg(CS, v << 8, (long) v << 12, 0xFFFF, 0x9B);
            s.rip = 0;
            waitingForSipi = false;
            halted = false;
            updateMode();
            s.dirty = false;
        }
        if ((ev & EV_NMI) != 0 && !waitingForSipi) {
            if (nmiBlocked) {
                EVENTS.getAndBitwiseOr(this, EV_NMI); // stays pending until IRET
            } else {
                halted = false;
                nmiBlocked = true;
                deliverEvent(GuestFault.NMI, -1, false, true);
            }
        }
        if ((ev & EV_EXIT) != 0) {
            result = Exit.EXIT_REQUESTED;
        }
        return result;
    }

    /** Recomputes the execution mode from CR0, EFER and the CS/SS descriptors (after set-up or a mode change). */
    void updateMode() {
        s.updateLma();
        protectedMode = (s.cr0 & 1) != 0;
        longMode = (s.efer & EFER_LMA) != 0;
        int csAttr = s.attr[CS];
        if (!protectedMode) {
            codeMode = (csAttr & 0x4000) != 0 ? 32 : 16;
            cpl = 0;
        } else {
            if (longMode && (csAttr & 0x2000) != 0) {
                codeMode = 64;
            } else {
                codeMode = (csAttr & 0x4000) != 0 ? 32 : 16;
            }
            cpl = s.cpl();
        }
        stackSize = codeMode == 64 ? 8 : (s.attr[SS] & 0x4000) != 0 ? 4 : 2;
    }

    // ---- fetch and execute --------------------------------------------------------------------------------

    private void step() {
        long rip = s.rip;
        try {
            Insn d = fetch(rip);
            int k = ringPos;
            ringRip[k] = rip;
            ringLinear[k] = fetchLinear;
            ringInsn[k] = d;
            ringPos = (k + 1) & (RING - 1);
            nextRip = rip + d.length;
            if (codeMode != 64) {
                nextRip &= codeMode == 32 ? 0xFFFF_FFFFL : 0xFFFF;
            }
            if (shadow > 0) {
                shadow--;
            }
            boolean singleStep = (s.flagsRest & TF) != 0;
            Op.Family family = d.op.family;
            // a block starts after control transfers and after what a block would stop at (system, strings)
            blockHead = family == Op.Family.BRANCH || family == Op.Family.SYSTEM || family == Op.Family.STRING;
            interp.execute(d);
            s.rip = nextRip;
            icount++;
            interpreted++;
            if (singleStep && d.op != Op.INT && d.op != Op.INT3 && d.op != Op.INTO && d.op != Op.INT1) {
                // TF set before the instruction: a single-step #DB trap after it (SDM Vol. 3A 17.3.1.4)
                s.dr[6] |= 0x4000;
                deliverEvent(GuestFault.DB, -1, false, false);
            }
        } catch (GuestFault f) {
            s.rip = rip;
            icount++;
            blockHead = true;
            deliverEvent(f.vector, f.hasError ? f.errorCode : -1, false, false);
        } catch (RuntimeException e) {
            internalError(rip, e);
        }
    }

    private void internalError(long rip, RuntimeException e) {
        // a bug of this CPU (or of a device behind the bus): not the guest's doing, so not a guest
        // shutdown (that would reset the machine and hide the bug); the VMM reports it as its own error
        s.rip = rip;
        LOG.log(Level.ERROR, "vCPU " + config.index() + ": internal error at " + Long.toHexString(rip) + "\n"
                + s.describe() + recentInstructions(), e);
        internalError = String.format("internal error at rip 0x%x: %s", rip, e);
    }

    // ---- translated blocks ---------------------------------------------------------------------------------

    /**
     * The translated block starting at RIP, translating it once it has been reached often enough; null when
     * there is none (not 64-bit code, a single-step or interrupt shadow, code in MMIO, a fetch fault).
     */
    private Block findBlock() {
        long rip = s.rip;
        if (codeMode != 64 || shadow != 0 || (s.flagsRest & TF) != 0) {
            return null;
        }
        if (!CpuState.canonical(rip)) {
            return null;
        }
        X86Platform.CodePage cp;
        try {
            cp = codePageOf(rip);
        } catch (GuestFault f) {
            return null; // step() meets the fault again and delivers it
        }
        if (cp == null) {
            return null;
        }
        int off = (int) rip & 0xFFF;
        Block[] blocks = cp.blocks;
        if (blocks != null) {
            Block b = (Block) BLOCKS.getAcquire(blocks, off);
            if (b != null) {
                return b.rip == rip && tailStillMapped(b) ? b : null;
            }
        }
        short[] heat = cp.heat;
        if (heat == null) {
            heat = new short[4096];
            cp.heat = heat;
        }
        int h = heat[off] + 1;
        heat[off] = (short) h;
        if (h < platform.translateThreshold) {
            return null;
        }
        List<Insn> insns = blockAt(rip);
        if (blocks == null) {
            blocks = new Block[4096];
            cp.blocks = blocks;
        }
        if (insns.isEmpty()) {
            BLOCKS.setRelease(blocks, off, NO_BLOCK);
            return null;
        }
        if (platform.translateThreshold == 1) {
            // the test mode: every block translated at once, on this thread, so every instruction runs translated
            Block b = platform.translator.translate(rip, insns);
            b.tailPage = blockTailPage;
            BLOCKS.setRelease(blocks, off, b);
            return tailStillMapped(b) ? b : null;
        }
        BLOCKS.setRelease(blocks, off, PENDING);
        platform.translator.translateLater(rip, insns, blockTailPage, blocks, off, NO_BLOCK);
        return null;
    }

    /**
     * Whether a block that runs on into the next linear page still finds the physical page it was decoded from
     * there (the page tables may have changed since, or the page may no longer be executable).
     */
    private boolean tailStillMapped(Block b) {
        if (b.tailPage == -1) {
            return true;
        }
        try {
            return (mmu.translate(((b.rip >>> 12) + 1) << 12, Mmu.EXEC, cpl == 3) & ~0xFFFL) == b.tailPage;
        } catch (GuestFault f) {
            return false; // the interpreter meets the fault when it gets there
        }
    }

    /** Decodes from RIP up to a block end, all in this page: the instructions a block there would hold. */
    private List<Insn> blockAt(long rip) {
        List<Insn> list = new ArrayList<>();
        long r = rip;
        long page = rip >>> 12;
        blockTailPage = -1;
        try {
            // A block may run on into the next page (loops that straddle a page boundary are common in compiled
            // code); then that page's decoded code is marked, and a write to it drops this page's blocks too.
            // It stops 15 bytes before the end of that next page: decoding must not touch a third one.
            while (list.size() < Translator.MAX_INSNS && r >>> 12 <= page + 1
                    && (r >>> 12 == page || (r & 0xFFF) <= 4096 - 15)) {
                if (blockTailPage == -1 && (r >>> 12 != page || (r & 0xFFF) > 4096 - 15) && !spillInto(rip)) {
                    break;
                }
                Insn d = fetch(r);
                Translator.Kind kind = Translator.classify(d, r + d.length);
                if (kind == Translator.Kind.STOP) {
                    break;
                }
                list.add(d);
                r += d.length;
                if (kind == Translator.Kind.END_NATIVE || kind == Translator.Kind.END_INTERP) {
                    break;
                }
            }
        } catch (GuestFault f) {
            // not ours to deliver here (nor is the fault object to keep): the interpreter meets it again there
        }
        return list;
    }

    /** The guest-physical page the block just decoded by {@link #blockAt} runs on into, or -1. */
    private long blockTailPage = -1;

    /**
     * Lets the block at {@code rip} run on into the next linear page: marks that page's code (before any of its
     * bytes is decoded) and registers this page as depending on it. False where the next page is not RAM or
     * does not map (the block then ends before it).
     */
    private boolean spillInto(long rip) {
        long next = ((rip >>> 12) + 1) << 12;
        if (!CpuState.canonical(next)) {
            return false;
        }
        X86Platform.CodePage head = codePageOf(rip);
        X86Platform.CodePage tail = codePageOf(next);
        if (head == null || tail == null || !platform.dependsOn(head, tail)) {
            return false;
        }
        blockTailPage = tail.physical;
        return true;
    }

    private static final int BLOCK_BUDGET = 16384;

    private void runBlock(Block b, long limit, long end) {
        int k = ringPos;
        ringRip[k] = b.rip;
        ringLinear[k] = b.rip;
        ringInsn[k] = b.insns[0];
        ringPos = (k + 1) & (RING - 1);
        blockHead = true;
        try {
            // a translated loop may run past the next APIC poll, by at most BLOCK_BUDGET instructions: at its speed
            // that is tens of microseconds, and it gives HotSpot the back-edge counts that get the loop compiled
            icount += b.run(this, (int) Math.max(limit - icount, Math.min(end - icount, BLOCK_BUDGET)));
        } catch (GuestFault f) {
            icount += blockDone + 1;
            if (++b.faults == FAULTS_BEFORE_CUT) {
                cutBefore(b, s.rip);
            }
            deliverEvent(f.vector, f.hasError ? f.errorCode : -1, false, false);
        } catch (RuntimeException e) {
            internalError(s.rip, e);
        }
    }

    private static final int FAULTS_BEFORE_CUT = 4;

    /** Replaces block {@code b} by one that ends before the instruction at {@code faultRip} (or by none). */
    private void cutBefore(Block b, long faultRip) {
        int i = (int) (b.rip >>> 12) & (CODE_CACHE - 1);
        X86Platform.CodePage cp = codePages[i];
        Block[] blocks = cp == null || codeTag[i] != b.rip >>> 12 ? null : cp.blocks;
        int off = (int) b.rip & 0xFFF;
        if (blocks == null || BLOCKS.getAcquire(blocks, off) != b) {
            return;
        }
        long r = b.rip;
        int n = 0;
        while (n < b.insns.length && r != faultRip) {
            r += b.insns[n++].length;
        }
        if (n == 0 || n == b.insns.length) {
            // The first instruction faults (a demand-paging #PF, as the kernel's decompressor takes for every page
            // it writes): the interpreter would take the same fault, so the block stays.
            return;
        }
        BLOCKS.setRelease(blocks, off, NO_BLOCK);
        List<Insn> head = Arrays.asList(b.insns).subList(0, n);
        if (platform.translateThreshold == 1) {
            Block t = platform.translator.translate(b.rip, head);
            t.tailPage = b.tailPage;
            BLOCKS.setRelease(blocks, off, t);
        } else {
            platform.translator.translateLater(b.rip, head, b.tailPage, blocks, off, NO_BLOCK);
        }
    }

    private final Decoder.Fetch fetcher = this::fetchByte;

    private int fetchByte(int i) {
        long lin = codeMode == 64 ? fetchLinear + i : (fetchLinear + i) & 0xFFFF_FFFFL;
        return (int) mmu.read(lin, 1, cpl == 3);
    }

    private Insn fetch(long rip) {
        long linear = codeMode == 64 ? rip : (s.base[CS] + rip) & 0xFFFF_FFFFL;
        if (codeMode != 64 && rip > s.limit[CS]) {
            throw fault.set(GuestFault.GP, 0, true);
        }
        if (codeMode == 64 && !CpuState.canonical(rip)) {
            throw fault.set(GuestFault.GP, 0, true);
        }
        fetchLinear = linear;
        X86Platform.CodePage cp = codePageOf(linear);
        if (cp == null) {
            return decoder.decode(fetcher, codeMode);
        }
        int off = (int) (linear & 0xFFF);
        // decoded instructions are shared by the VM's vCPUs: published with release, read with acquire
        Insn d = (Insn) SLOTS.getAcquire(cp.slots, off);
        if (d != null && d.mode == codeMode) {
            return d;
        }
        d = decoder.decode(fetcher, codeMode);
        platform.decodes.increment();
        if (off + d.length <= 4096) {
            SLOTS.setRelease(cp.slots, off, d);
        }
        return d;
    }

    /**
     * The decoded-code page of {@code linear}, through a one-entry cache of the last linear page (valid within a
     * TLB generation, while the page holds its code, for one privilege level); null for code in MMIO. A fetch
     * that faults (#PF) throws.
     */
    private X86Platform.CodePage codePageOf(long linear) {
        long page = linear >>> 12;
        int i = (int) page & (CODE_CACHE - 1);
        X86Platform.CodePage cp = codePages[i];
        boolean user = cpl == 3;
        if (codeTag[i] != page || codeGeneration[i] != mmu.generation || cp == null || !cp.valid || user != codeUser[i]) {
            long phys = mmu.translate(linear, Mmu.EXEC, user);
            cp = platform.codePage(phys & ~0xFFFL);
            codePages[i] = cp;
            codeTag[i] = page;
            codeGeneration[i] = mmu.generation;
            codeUser[i] = user;
        }
        return cp;
    }

    /** Logs an unimplemented encoding once, then raises #UD in the guest. */
    GuestFault undefined(Insn d) {
        if (d.entry == Decoder.BAD || d.entry == Decoder.BAD_M || d.entry == Decoder.BAD_MI || d.op == Op.X87) {
            String bytes = HexFormat.of().formatHex(d.bytes);
            // keyed by the first bytes (the opcode, mostly) and capped: a guest cannot flood the log
            String key = "op " + bytes.substring(0, Math.min(bytes.length(), 6)) + "/" + d.mode;
            if (platform.logOnce(key)) {
                LOG.log(Level.INFO, "vCPU {0}: #UD for unimplemented instruction {1} (mode {2}) at {3}",
                        config.index(), bytes, d.mode, Long.toHexString(s.rip));
            }
        }
        return fault.set(GuestFault.UD, 0, false);
    }

    void logMsrOnce(String what, int index) {
        if (platform.logOnce(what + index)) {
            LOG.log(Level.INFO, "vCPU {0}: #GP for {1} of unknown MSR 0x{2}", config.index(), what,
                    Integer.toHexString(index));
        }
    }

    // ---- memory with segmentation -----------------------------------------------------------------------

    GuestFault fault(int vector, int code) {
        return fault.set(vector, code, GuestFault.pushesError(vector));
    }

    /** The linear address of {@code seg:offset} after the segment checks (SDM Vol. 3A 5.3, 3.4.4 in 64-bit). */
    long linear(int seg, long off, int size, int acc) {
        if (codeMode == 64) {
            long lin = seg >= FS ? s.base[seg] + off : off;
            if (!CpuState.canonical(lin)) {
                throw fault(seg == SS ? GuestFault.SS : GuestFault.GP, 0);
            }
            return lin;
        }
        int a = s.attr[seg];
        if (protectedMode) {
            if ((a & UNUSABLE) != 0) {
                throw fault(seg == SS ? GuestFault.SS : GuestFault.GP, 0);
            }
            if (acc == Mmu.WRITE && (a & 0x1A) != 0x12) {
                throw fault(seg == SS ? GuestFault.SS : GuestFault.GP, 0);
            }
        }
        long lim = s.limit[seg];
        long last = off + size - 1;
        if ((a & 0x1C) == 0x14) { // expand-down data segment
            long upper = (a & 0x4000) != 0 ? 0xFFFF_FFFFL : 0xFFFF;
            if (off <= lim || last > upper) {
                throw fault(seg == SS ? GuestFault.SS : GuestFault.GP, 0);
            }
        } else if (last > lim && lim != 0xFFFF_FFFFL) {
            throw fault(seg == SS ? GuestFault.SS : GuestFault.GP, 0);
        }
        return (s.base[seg] + off) & 0xFFFF_FFFFL;
    }

    long read(int seg, long off, int size) {
        return mmu.read(linear(seg, off, size, Mmu.READ), size, cpl == 3);
    }

    void write(int seg, long off, int size, long v) {
        mmu.write(linear(seg, off, size, Mmu.WRITE), size, v, cpl == 3);
    }

    /** Supervisor (implicit) accesses: descriptor tables, the TSS, the IDT. */
    long readSys(long linear, int size) {
        return mmu.read(codeMode == 64 || longMode ? linear : linear & 0xFFFF_FFFFL, size, false);
    }

    void writeSys(long linear, int size, long v) {
        mmu.write(codeMode == 64 || longMode ? linear : linear & 0xFFFF_FFFFL, size, v, false);
    }

    long spMask() {
        return stackSize == 8 ? -1L : stackSize == 4 ? 0xFFFF_FFFFL : 0xFFFF;
    }

    void setSp(long v) {
        if (stackSize == 8) {
            s.r[4] = v;
        } else if (stackSize == 4) {
            s.r[4] = v & 0xFFFF_FFFFL;
        } else {
            s.r[4] = (s.r[4] & ~0xFFFFL) | (v & 0xFFFF);
        }
    }

    void push(long v, int size) {
        long sp = (s.r[4] - size) & spMask();
        write(SS, sp, size, v);
        setSp(sp);
    }

    long pop(int size) {
        long sp = s.r[4] & spMask();
        long v = read(SS, sp, size);
        setSp(sp + size);
        return v;
    }

    /** Reads {@code size} bytes at {@code depth} bytes above the stack pointer without popping. */
    long peek(int depth, int size) {
        return read(SS, (s.r[4] + depth) & spMask(), size);
    }

    // ---- interrupts and exceptions ------------------------------------------------------------------------

    private static boolean contributory(int v) {
        return v == GuestFault.DE || v == GuestFault.TS || v == GuestFault.NP || v == GuestFault.SS
                || v == GuestFault.GP;
    }

    /**
     * Delivers an exception or interrupt whose return address is the current RIP; a fault during delivery
     * becomes a double fault or is delivered serially (SDM Vol. 3A 6.15, Table 6-5), one during #DF is a
     * triple fault: shutdown.
     */
    void deliverEvent(int vector, int errorCode, boolean software, boolean external) {
        int prev = delivering;
        try {
            delivering = vector;
            deliverInterrupt(vector, errorCode, software, external, s.rip);
        } catch (GuestFault f) {
            int v2 = f.vector;
            int e2 = f.hasError ? f.errorCode : -1;
            if (vector == GuestFault.DF || prev == GuestFault.DF) {
                shutdown = true;
                return;
            }
            boolean pf1 = vector == GuestFault.PF;
            if (!software && !external && (contributory(vector) && contributory(v2)
                    || pf1 && (contributory(v2) || v2 == GuestFault.PF))) {
                deliverEvent(GuestFault.DF, 0, false, false);
            } else {
                deliverEvent(v2, e2, false, false);
            }
        } finally {
            delivering = prev;
        }
    }

    /** INT n, INT3, INTO: the return address is the next instruction. */
    void softwareInterrupt(int vector) {
        deliverInterrupt(vector, -1, true, false, nextRip);
        nextRip = s.rip;
    }

    private void deliverInterrupt(int vector, int errorCode, boolean software, boolean external, long returnRip) {
        int ext = external ? 1 : 0;
        if (!protectedMode) {
            deliverReal(vector, returnRip);
            return;
        }
        int entrySize = longMode ? 16 : 8;
        if (vector * entrySize + entrySize - 1 > s.idtrLimit) {
            throw fault(GuestFault.GP, vector * 8 + 2 + ext);
        }
        long gate = readSys(s.idtrBase + (long) vector * entrySize, 8);
        int type = (int) (gate >>> 40) & 0x1F;
        int dpl = (int) (gate >>> 45) & 3;
        boolean trap;
        if (longMode) {
            if (type != 0x0E && type != 0x0F) {
                throw fault(GuestFault.GP, vector * 8 + 2 + ext);
            }
        } else if (type != 0x0E && type != 0x0F && type != 0x06 && type != 0x07) {
            throw fault(GuestFault.GP, vector * 8 + 2 + ext); // task gates are not implemented
        }
        trap = (type & 1) != 0;
        if (software && dpl < cpl) {
            throw fault(GuestFault.GP, vector * 8 + 2);
        }
        if ((gate & (1L << 47)) == 0) {
            throw fault(GuestFault.NP, vector * 8 + 2 + ext);
        }
        int selector = (int) (gate >>> 16) & 0xFFFF;
        long offset = (gate & 0xFFFF) | ((gate >>> 32) & 0xFFFF_0000L);
        if (longMode) {
            offset |= readSys(s.idtrBase + (long) vector * 16 + 8, 4) << 32;
        } else if ((type & 8) == 0) {
            offset &= 0xFFFF;
        }
        if ((selector & 0xFFFC) == 0) {
            throw fault(GuestFault.GP, ext);
        }
        long desc = readDescriptor(selector, ext);
        int attr = descAttr(desc);
        int cdpl = (attr >>> 5) & 3;
        if ((attr & 0x18) != 0x18 || cdpl > cpl) {
            throw fault(GuestFault.GP, (selector & 0xFFFC) + ext);
        }
        if ((attr & 0x80) == 0) {
            throw fault(GuestFault.NP, (selector & 0xFFFC) + ext);
        }
        if (longMode && ((attr & 0x2000) == 0 || (attr & 0x4000) != 0)) {
            throw fault(GuestFault.GP, (selector & 0xFFFC) + ext);
        }
        boolean conforming = (attr & 4) != 0;
        int newCpl = conforming ? cpl : cdpl;
        long flags = s.rflags();
        long oldSs = s.sel[SS];
        long oldSp = s.r[4];
        int oldCs = s.sel[CS];
        if (longMode) {
            int ist = (int) (gate >>> 32) & 7;
            long sp;
            if (ist != 0) {
                sp = readSys(s.base[TR] + 0x24 + (ist - 1) * 8L, 8);
            } else if (newCpl < cpl) {
                sp = readSys(s.base[TR] + 4 + newCpl * 8L, 8);
            } else {
                sp = oldSp;
            }
            sp &= ~0xFL;
            boolean err = errorCode >= 0;
            long[] frame = frame64;
            int n = 0;
            if (err) {
                frame[n++] = errorCode & 0xFFFF_FFFFL;
            }
            frame[n++] = returnRip;
            frame[n++] = oldCs;
            frame[n++] = flags;
            frame[n++] = oldSp;
            frame[n++] = oldSs;
            long top = sp - 8L * n;
            if (!CpuState.canonical(top) || !CpuState.canonical(sp - 1)) {
                throw fault(GuestFault.SS, 0);
            }
            for (int i = 0; i < n; i++) {
                mmu.write(top + 8L * i, 8, frame[i], false);
            }
            s.loadSeg(CS, (selector & 0xFFFC) | newCpl, descBase(desc), descLimit(desc), attr);
            setAccessed(selector, desc);
            if (newCpl != cpl) {
                s.loadSeg(SS, newCpl, 0, 0xFFFF_FFFFL, UNUSABLE | 0x93 | (newCpl << 5));
            }
            s.r[4] = top;
            s.rip = offset;
        } else {
            boolean gate32 = (type & 8) != 0;
            int sz = gate32 ? 4 : 2;
            long ss = oldSs, sp = oldSp & spMask();
            long ssBase = s.base[SS];
            int ssAttr = s.attr[SS];
            long ssLimit = s.limit[SS];
            boolean stackSwitch = newCpl < cpl;
            if (stackSwitch) {
                long tss = s.base[TR];
                boolean tss32 = (s.attr[TR] & 0xF) == 0xB || (s.attr[TR] & 0xF) == 9;
                if (tss32) {
                    sp = readSys(tss + 4 + newCpl * 8L, 4);
                    ss = readSys(tss + 8 + newCpl * 8L, 2);
                } else {
                    sp = readSys(tss + 2 + newCpl * 4L, 2);
                    ss = readSys(tss + 4 + newCpl * 4L, 2);
                }
                if ((ss & 0xFFFC) == 0) {
                    throw fault(GuestFault.TS, ext);
                }
                long sdesc = readDescriptor((int) ss, ext);
                ssAttr = descAttr(sdesc);
                if ((ss & 3) != newCpl || ((ssAttr >>> 5) & 3) != newCpl || (ssAttr & 0x1A) != 0x12) {
                    throw fault(GuestFault.TS, (int) (ss & 0xFFFC) + ext);
                }
                if ((ssAttr & 0x80) == 0) {
                    throw fault(GuestFault.SS, (int) (ss & 0xFFFC) + ext);
                }
                ssBase = descBase(sdesc);
                ssLimit = descLimit(sdesc);
            }
            long spm = (ssAttr & 0x4000) != 0 ? 0xFFFF_FFFFL : 0xFFFF;
            long[] frame = frame64;
            int n = 0;
            if (errorCode >= 0) {
                frame[n++] = errorCode;
            }
            frame[n++] = returnRip;
            frame[n++] = oldCs;
            frame[n++] = flags;
            if (stackSwitch) {
                frame[n++] = oldSp;
                frame[n++] = oldSs;
            }
            long top = (sp - (long) sz * n) & spm;
            for (int i = 0; i < n; i++) {
                mmu.write((ssBase + ((top + (long) sz * i) & spm)) & 0xFFFF_FFFFL, sz, frame[i], false);
            }
            if (stackSwitch) {
                s.loadSeg(SS, (int) ss, ssBase, ssLimit, ssAttr);
            }
            s.loadSeg(CS, (selector & 0xFFFC) | newCpl, descBase(desc), descLimit(desc), attr);
            setAccessed(selector, desc);
            s.r[4] = spm == 0xFFFF ? (s.r[4] & ~0xFFFFL) | top : top;
            s.rip = offset;
        }
        long rest = s.flagsRest & ~(TF | NT | RF | VM);
        if (!trap) {
            rest &= ~IF;
        }
        s.flagsRest = rest;
        updateMode();
        s.dirty = false;
    }

    private final long[] frame64 = new long[6];

    private void deliverReal(int vector, long returnRip) {
        if (vector * 4 + 3 > s.idtrLimit) {
            throw fault(GuestFault.GP, 0);
        }
        long entry = readSys(s.idtrBase + vector * 4L, 4);
        push(s.rflags() & 0xFFFF, 2);
        push(s.sel[CS], 2);
        push(returnRip & 0xFFFF, 2);
        int seg = (int) (entry >>> 16) & 0xFFFF;
        s.sel[CS] = seg;
        s.base[CS] = (long) seg << 4;
        s.rip = entry & 0xFFFF;
        s.flagsRest &= ~(IF | TF | AC | RF);
        updateMode();
    }

    // ---- descriptors ---------------------------------------------------------------------------------------

    /** The 8-byte descriptor of {@code selector} from the GDT or LDT; #GP(selector) beyond the table limit. */
    long readDescriptor(int selector, int ext) {
        long tableBase;
        long tableLimit;
        if ((selector & 4) != 0) {
            if ((s.attr[LDTR] & UNUSABLE) != 0 || (s.sel[LDTR] & 0xFFFC) == 0) {
                throw fault(GuestFault.GP, (selector & 0xFFFC) + ext);
            }
            tableBase = s.base[LDTR];
            tableLimit = s.limit[LDTR];
        } else {
            tableBase = s.gdtrBase;
            tableLimit = s.gdtrLimit;
        }
        long off = selector & 0xFFF8L;
        if (off + 7 > tableLimit) {
            throw fault(GuestFault.GP, (selector & 0xFFFC) + ext);
        }
        return readSys(tableBase + off, 8);
    }

    long descriptorAddress(int selector) {
        return ((selector & 4) != 0 ? s.base[LDTR] : s.gdtrBase) + (selector & 0xFFF8L);
    }

    static long descBase(long d) {
        return ((d >>> 16) & 0xFF_FFFFL) | ((d >>> 32) & 0xFF00_0000L);
    }

    static long descLimit(long d) {
        long lim = (d & 0xFFFF) | ((d >>> 32) & 0xF_0000L);
        return (d & (1L << 55)) != 0 ? (lim << 12) | 0xFFF : lim;
    }

    /** The access rights in VMX layout: type, S, DPL, P, AVL, L, D/B, G. */
    static int descAttr(long d) {
        return (int) ((d >>> 40) & 0xFF) | (int) ((d >>> 52) & 0xF) << 12;
    }

    void setAccessed(int selector, long desc) {
        if ((desc & (1L << 40)) == 0 && (selector & 0xFFFC) != 0) {
            writeSys(descriptorAddress(selector) + 5, 1, (desc >>> 40) | 1);
        }
    }

    /** MOV/POP to a data segment register or SS (SDM Vol. 2B MOV, "Operation"). */
    void loadSegment(int seg, int selector) {
        selector &= 0xFFFF;
        if (!protectedMode || (s.flagsRest & VM) != 0) {
            s.sel[seg] = selector;
            s.base[seg] = (long) selector << 4;
            if ((s.attr[seg] & UNUSABLE) != 0 || (s.attr[seg] & 0x80) == 0) {
                s.attr[seg] = 0x93;
                s.limit[seg] = 0xFFFF;
            }
            if (seg == SS) {
                updateMode();
            }
            return;
        }
        int rpl = selector & 3;
        if ((selector & 0xFFFC) == 0) {
            if (seg == SS && (codeMode != 64 || cpl == 3 || rpl != cpl)) {
                throw fault(GuestFault.GP, 0);
            }
            s.loadSeg(seg, selector, 0, 0, UNUSABLE | (seg == SS ? 0x93 | (cpl << 5) : 0));
            s.dirty = false;
            if (seg == SS) {
                updateMode();
            }
            return;
        }
        long desc = readDescriptor(selector, 0);
        int attr = descAttr(desc);
        int dpl = (attr >>> 5) & 3;
        if (seg == SS) {
            if (rpl != cpl || dpl != cpl || (attr & 0x1A) != 0x12) {
                throw fault(GuestFault.GP, selector & 0xFFFC);
            }
            if ((attr & 0x80) == 0) {
                throw fault(GuestFault.SS, selector & 0xFFFC);
            }
        } else {
            boolean data = (attr & 0x18) == 0x10;
            boolean readableCode = (attr & 0x1A) == 0x1A;
            if (!data && !readableCode) {
                throw fault(GuestFault.GP, selector & 0xFFFC);
            }
            boolean conformingCode = (attr & 0x1C) == 0x1C;
            if (!conformingCode && (rpl > dpl || cpl > dpl)) {
                throw fault(GuestFault.GP, selector & 0xFFFC);
            }
            if ((attr & 0x80) == 0) {
                throw fault(GuestFault.NP, selector & 0xFFFC);
            }
        }
        setAccessed(selector, desc);
        s.loadSeg(seg, selector, descBase(desc), descLimit(desc), attr | 1);
        s.dirty = false;
        if (seg == SS) {
            updateMode();
        }
    }

    /** Loads CS for a far JMP/CALL/RET to a code segment (no gates, no task switches). */
    void loadCodeSegment(int selector, long offset, int newCpl, boolean isReturn) {
        selector &= 0xFFFF;
        if (!protectedMode || (s.flagsRest & VM) != 0) {
            s.sel[CS] = selector;
            s.base[CS] = (long) selector << 4;
            nextRip = offset & (codeMode == 32 ? 0xFFFF_FFFFL : 0xFFFF);
            updateMode();
            return;
        }
        if ((selector & 0xFFFC) == 0) {
            throw fault(GuestFault.GP, 0);
        }
        long desc = readDescriptor(selector, 0);
        int attr = descAttr(desc);
        int dpl = (attr >>> 5) & 3;
        if ((attr & 0x18) != 0x18) {
            throw fault(GuestFault.GP, selector & 0xFFFC); // call gates, task gates and TSSs: not implemented
        }
        boolean conforming = (attr & 4) != 0;
        int rpl = selector & 3;
        if (isReturn) {
            if (rpl < cpl || (conforming ? dpl > rpl : dpl != rpl)) {
                throw fault(GuestFault.GP, selector & 0xFFFC);
            }
        } else if (conforming ? dpl > cpl : (rpl > cpl || dpl != cpl)) {
            throw fault(GuestFault.GP, selector & 0xFFFC);
        }
        if ((attr & 0x80) == 0) {
            throw fault(GuestFault.NP, selector & 0xFFFC);
        }
        if (longMode && (attr & 0x2000) != 0 && (attr & 0x4000) != 0) {
            throw fault(GuestFault.GP, selector & 0xFFFC);
        }
        boolean to64 = longMode && (attr & 0x2000) != 0;
        long limit = descLimit(desc);
        if (!to64 && offset > limit) {
            throw fault(GuestFault.GP, 0);
        }
        setAccessed(selector, desc);
        s.loadSeg(CS, (selector & 0xFFFC) | newCpl, descBase(desc), limit, attr | 1);
        s.dirty = false;
        updateMode();
        nextRip = codeMode == 64 ? offset : codeMode == 32 ? offset & 0xFFFF_FFFFL : offset & 0xFFFF;
    }

    /** After a return to an outer level, data segments the new CPL may not use become null (SDM RET, IRET). */
    void nullInaccessibleSegments() {
        for (int seg : new int[] {ES, DS, FS, GS}) {
            int a = s.attr[seg];
            if ((a & UNUSABLE) != 0) {
                continue;
            }
            boolean conformingCode = (a & 0x1C) == 0x1C;
            if (!conformingCode && ((a >>> 5) & 3) < cpl) {
                s.sel[seg] = 0;
                s.attr[seg] |= UNUSABLE;
            }
        }
    }
}
