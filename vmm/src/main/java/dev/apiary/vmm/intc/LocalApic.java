package dev.apiary.vmm.intc;

import static dev.apiary.vmm.intc.ApicRegs.*;

import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.x86.GuestClock;
import dev.apiary.vmm.x86.LocalInterrupts;
import dev.apiary.vmm.x86.VcpuSignals;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * One vCPU's local APIC in xAPIC mode (SDM vol. 3 chapter 11): the register page at its APIC base (offsets
 * 0–0xFFF through {@link IoHandler}), the APIC base MSR, CR8, the TSC-deadline MSR, and the interrupt
 * acknowledge cycle the CPU runs at instruction boundaries ({@link LocalInterrupts}).
 *
 * <p>Interrupts: IRR, ISR and TMR are 256-bit sets; a vector is offered when its priority class is above
 * the PPR (TPR and the highest in-service class, §11.8.3.1). An EOI retires the highest ISR bit and, when
 * that vector was accepted level-triggered (TMR), broadcasts the EOI to the IOAPIC (§11.8.5). ExtINT (LINT0
 * in ExtINT mode, or an ExtINT message) is served by the 8259's INTA cycle, ahead of fixed vectors and
 * regardless of the PPR. With nothing above the PPR but something in the IRR, the acknowledge cycle returns
 * the spurious vector (§11.9); with an empty IRR it returns -1 (the {@link LocalInterrupts} contract).
 *
 * <p>Timer (§11.5.4): the APIC bus clock is 1 GHz (KVM's), so one timer tick is one nanosecond times the
 * divide configuration. The current count is computed from host time, never counted; the timer fires from
 * {@link #poll(long)} on the vCPU's own thread, which also returns the next deadline so a halted vCPU
 * sleeps exactly until then. Periodic mode fires at most every {@value #MIN_PERIOD_NANOS} ns (KVM's 200 µs
 * floor), and a late poll coalesces missed periods into one interrupt. TSC-deadline mode compares the
 * {@link GuestClock} TSC with IA32_TSC_DEADLINE.
 *
 * <p>Threads: devices, the IOAPIC and other vCPUs deliver from any thread, the owning vCPU reads and writes
 * registers. State lives under one small lock; {@link #hasInterrupt()} and the no-deadline path of
 * {@link #poll(long)} read only volatile summaries. The APIC never calls out (IPIs, EOI broadcast, INTA,
 * wake-ups) while holding its lock.
 *
 * <p>Not modelled: x2APIC, the thermal and performance counter sources (their LVTs are plain registers),
 * CMCI, SMI, focus checking, directed EOI, arbitration priority (APR reads 0).
 */
public final class LocalApic implements LocalInterrupts, IoHandler {
    /** The periodic timer's floor, as KVM's {@code min_timer_period_us}. */
    public static final long MIN_PERIOD_NANOS = 200_000;

    private static final VcpuSignals NO_SIGNALS = new VcpuSignals() {
        public void interruptPending() {}

        public void nmi() {}

        public void init() {}

        public void startup(int vector) {}
    };

    private static final int LVT_COUNT = 6;
    private static final int L_TIMER = 0;
    private static final int L_LINT0 = 3;
    private static final int L_LINT1 = 4;
    private static final int L_ERROR = 5;

    private final int hardwareId;
    private final boolean bsp;
    private final GuestClock clock;
    private final ApicBus bus;
    private final LongSupplier nanoTime;
    private final Object lock = new Object();

    private volatile VcpuSignals signals = NO_SIGNALS;
    private volatile IntSupplier extIntAcknowledge = () -> -1;

    // Hot-path summaries, written under the lock (extIntLevel also from the PIC), read without it.
    private volatile boolean fixedReady;
    private volatile boolean extIntAccepted;
    private volatile boolean extIntLevel;
    private volatile boolean extIntMessage;
    private volatile long nextTimerNanos = Long.MAX_VALUE;

    // Read by other threads (destination matching, lowest-priority arbitration) without the lock.
    private volatile long apicBase;
    private volatile int id;
    private volatile int ldr;
    private volatile int dfr;
    private volatile int tpr;
    private volatile int svr;

    private final VectorSet irr = new VectorSet();
    private final VectorSet isr = new VectorSet();
    private final VectorSet tmr = new VectorSet();
    private final int[] lvt = new int[LVT_COUNT];
    private int esr;
    private int esrPending;
    private int icrLow;
    private int icrHigh;
    private int divideConfig;
    private long initialCount;
    private boolean lint0Level;
    private boolean lint1Level;

    private boolean timerArmed;
    private long timerStart;
    private long timerNext;
    private int timerDivisor;
    private long tscDeadline;

    /**
     * @param apicId the APIC ID (the vCPU index, as the MADT lists it)
     * @param bsp    whether this is the boot processor (IA32_APIC_BASE bit 8)
     * @param clock  the VM's TSC, for the TSC-deadline timer
     * @param bus    the APIC bus this LAPIC joins
     */
    public LocalApic(int apicId, boolean bsp, GuestClock clock, ApicBus bus) {
        this(apicId, bsp, clock, bus, System::nanoTime);
    }

    /** As above with an injected host clock (System.nanoTime's time base), for tests. */
    public LocalApic(int apicId, boolean bsp, GuestClock clock, ApicBus bus, LongSupplier nanoTime) {
        if (apicId < 0 || apicId > 0xFE) {
            throw new IllegalArgumentException("xAPIC IDs are 0-254: " + apicId);
        }
        this.hardwareId = apicId;
        this.bsp = bsp;
        this.clock = clock;
        this.bus = bus;
        this.nanoTime = nanoTime;
        reset();
        bus.register(this);
    }

    /** The CPU this APIC interrupts. */
    public void connect(VcpuSignals vcpu) {
        this.signals = vcpu;
    }

    /** The 8259's interrupt-acknowledge cycle, for ExtINT (LINT0 virtual wire or an ExtINT message). */
    public void connectExtInt(IntSupplier inta) {
        this.extIntAcknowledge = inta;
    }

    /** The APIC ID as the guest currently sees it (ID register bits 31:24). */
    public int id() {
        return id;
    }

    /** Guest-physical address of the register page (IA32_APIC_BASE bits 12 and up). */
    public long base() {
        return apicBase & BASE_ADDRESS_MASK;
    }

    /** The LINT0 pin (the 8259's INTR on the boot CPU). */
    public InterruptLine lint0() {
        return level -> lint(L_LINT0, level);
    }

    /** The LINT1 pin (NMI in virtual-wire mode). */
    public InterruptLine lint1() {
        return level -> lint(L_LINT1, level);
    }

    /** Power-on state (SDM §11.4.7.1): enabled in IA32_APIC_BASE, software-disabled, every LVT masked. */
    public void reset() {
        synchronized (lock) {
            apicBase = DEFAULT_BASE | BASE_ENABLE | (bsp ? BASE_BSP : 0);
            id = hardwareId;
            initState();
        }
    }

    /**
     * Virtual-wire mode as firmware leaves it (MP spec §3.6.2.2, as {@code VcpuSetup} programs KVM's
     * LAPIC): LINT0 ExtINT and LINT1 NMI, both unmasked, whatever the software-enable bit says.
     */
    public void virtualWire() {
        synchronized (lock) {
            lvt[L_LINT0] = DeliveryMode.EXTINT.bits() << LVT_MODE_SHIFT;
            lvt[L_LINT1] = DeliveryMode.NMI.bits() << LVT_MODE_SHIFT;
            update();
        }
        wakeIfReady();
    }

    // ------------------------------------------------------------------ LocalInterrupts

    @Override
    public boolean hasInterrupt() {
        return fixedReady || extIntMessage || (extIntLevel && extIntAccepted);
    }

    @Override
    public int acknowledge() {
        if (extIntMessage || (extIntLevel && extIntAccepted)) {
            extIntMessage = false;
            return extIntAcknowledge.getAsInt(); // outside our lock: the PIC calls back into lint0()
        }
        synchronized (lock) {
            int v = irr.highest();
            if (v < 0) {
                return -1;
            }
            if ((v & 0xF0) <= (ppr() & 0xF0)) {
                return svr & 0xFF; // §11.9: masked by the TPR between INTR and INTA
            }
            irr.clear(v);
            isr.set(v);
            update();
            return v;
        }
    }

    @Override
    public long poll(long nowNanos) {
        long next = nextTimerNanos;
        if (nowNanos < next) {
            return next;
        }
        boolean ready;
        synchronized (lock) {
            if (!timerArmed || nowNanos < timerNext) {
                return nextTimerNanos;
            }
            int entry = lvt[L_TIMER];
            if ((entry & LVT_MASKED) == 0) {
                acceptFixed(entry & 0xFF, false);
            }
            switch (timerMode()) {
                case TIMER_PERIODIC -> {
                    long step = Math.max(timerPeriodNanos(), MIN_PERIOD_NANOS);
                    timerNext += ((nowNanos - timerNext) / step + 1) * step;
                }
                case TIMER_TSC_DEADLINE -> {
                    tscDeadline = 0; // §11.5.4.1: the MSR reads 0 once the timer fired
                    timerArmed = false;
                }
                default -> timerArmed = false;
            }
            publishTimer();
            ready = update();
        }
        if (ready) {
            signals.interruptPending();
        }
        return nextTimerNanos;
    }

    @Override
    public long apicBase() {
        return apicBase;
    }

    @Override
    public boolean setApicBase(long value) {
        // We advertise no x2APIC: EXTD (bit 10) and bits 0-7, 9 and above bit 51 are reserved. BSP is read-only.
        if ((value & ~(BASE_ADDRESS_MASK | BASE_ENABLE | BASE_BSP)) != 0) {
            return false;
        }
        synchronized (lock) {
            boolean wasEnabled = (apicBase & BASE_ENABLE) != 0;
            apicBase = (value & (BASE_ADDRESS_MASK | BASE_ENABLE)) | (bsp ? BASE_BSP : 0);
            if (wasEnabled && (value & BASE_ENABLE) == 0) {
                initState(); // §11.4.3: a globally disabled APIC loses its state
            }
            update();
        }
        wakeIfReady();
        return true;
    }

    @Override
    public int cr8() {
        return tpr >> 4;
    }

    @Override
    public void setCr8(int value) {
        synchronized (lock) {
            tpr = (value & 0xF) << 4; // §11.8.6.1: CR8[3:0] is TPR[7:4]
            update();
        }
    }

    @Override
    public long tscDeadline() {
        synchronized (lock) {
            return timerMode() == TIMER_TSC_DEADLINE ? tscDeadline : 0;
        }
    }

    @Override
    public void setTscDeadline(long tsc) {
        synchronized (lock) {
            if (timerMode() != TIMER_TSC_DEADLINE) {
                return; // §11.5.4.1: ignored in the other timer modes
            }
            tscDeadline = tsc;
            long now = nanoTime.getAsLong();
            long ahead = tsc - clock.toTsc(now);
            // Zero disarms; a deadline at or past 2^63 ticks (or 126 years ahead) never comes.
            double aheadNanos = ahead * (1e9 / clock.tscHz());
            timerArmed = tsc > 0 && aheadNanos < 4e18;
            timerNext = ahead <= 0 ? now : now + (long) Math.ceil(aheadNanos);
            publishTimer();
        }
    }

    // ------------------------------------------------------------------ MMIO

    @Override
    public long read(long offset, int size) {
        long ones = size >= 8 ? -1L : (1L << (size * 8)) - 1;
        if (offset < 0 || offset >= 0x1000 || (apicBase & BASE_ENABLE) == 0) {
            return ones;
        }
        int within = (int) offset & 0xF;
        if (within >= 4) {
            return 0;
        }
        long value;
        synchronized (lock) {
            value = readRegister((int) offset & 0xFF0) & 0xFFFF_FFFFL;
        }
        return (value >>> (within * 8)) & ones;
    }

    @Override
    public void write(long offset, int size, long value) {
        // §11.4.1: registers take aligned 32-bit writes; anything else is dropped.
        if (offset < 0 || offset >= 0x1000 || (offset & 0xF) != 0 || size < 4 || (apicBase & BASE_ENABLE) == 0) {
            return;
        }
        InterruptMessage ipi = null;
        int shorthand = 0;
        int eoiVector = -1;
        boolean ready;
        synchronized (lock) {
            int v = (int) value;
            int reg = (int) offset;
            switch (reg) {
                case ICR_LOW -> {
                    icrLow = v & ICR_WRITABLE;
                    shorthand = (icrLow >> 18) & 3;
                    ipi = ipiMessage();
                }
                case EOI -> eoiVector = eoi();
                default -> writeRegister(reg, v);
            }
            ready = update();
        }
        if (eoiVector >= 0) {
            bus.levelEoi(eoiVector);
        }
        if (ipi != null) {
            bus.send(this, shorthand, ipi);
        }
        if (ready) {
            signals.interruptPending();
        }
    }

    private int readRegister(int reg) {
        if (reg >= ISR && reg < ISR + 0x80) {
            return isr.register((reg - ISR) >> 4);
        }
        if (reg >= TMR && reg < TMR + 0x80) {
            return tmr.register((reg - TMR) >> 4);
        }
        if (reg >= IRR && reg < IRR + 0x80) {
            return irr.register((reg - IRR) >> 4);
        }
        if (reg >= LVT_TIMER && reg <= LVT_ERROR) {
            return lvt[(reg - LVT_TIMER) >> 4];
        }
        return switch (reg) {
            case ID -> id << 24;
            case VERSION -> VERSION_VALUE;
            case TPR -> tpr;
            case APR, RRD, EOI -> 0;
            case PPR -> ppr();
            case LDR -> ldr << 24;
            case DFR -> dfr;
            case SVR -> svr;
            case ESR -> esr;
            case ICR_LOW -> icrLow; // delivery status 0: every IPI is sent at once
            case ICR_HIGH -> icrHigh;
            case TIMER_INITIAL -> (int) initialCount;
            case TIMER_CURRENT -> (int) currentCount(nanoTime.getAsLong());
            case TIMER_DIVIDE -> divideConfig;
            default -> {
                error(ESR_ILLEGAL_REGISTER);
                yield 0;
            }
        };
    }

    private void writeRegister(int reg, int v) {
        switch (reg) {
            case ID -> id = v >>> 24;
            case TPR -> tpr = v & 0xFF;
            case LDR -> ldr = v >>> 24;
            case DFR -> dfr = v | 0x0FFF_FFFF;
            case SVR -> {
                svr = v & SVR_WRITABLE;
                if ((svr & SVR_ENABLE) == 0) {
                    for (int i = 0; i < LVT_COUNT; i++) {
                        lvt[i] |= LVT_MASKED; // §11.4.7.2
                    }
                }
            }
            case ESR -> {
                esr = esrPending; // §11.5.3: a write latches the errors collected since the last write
                esrPending = 0;
            }
            case ICR_HIGH -> icrHigh = v & 0xFF00_0000;
            case LVT_TIMER -> {
                int oldMode = timerMode();
                lvt[L_TIMER] = masked(v & LVT_TIMER_WRITABLE);
                if (timerMode() != oldMode) {
                    // Switching modes disarms the timer (§11.5.4.1; KVM also clears the initial count).
                    timerArmed = false;
                    initialCount = 0;
                    tscDeadline = 0;
                    publishTimer();
                }
            }
            case LVT_THERMAL, LVT_PERF -> lvt[(reg - LVT_TIMER) >> 4] = masked(v & LVT_MODE_WRITABLE);
            case LVT_LINT0, LVT_LINT1 -> lvt[(reg - LVT_TIMER) >> 4] = masked(v & LVT_LINT_WRITABLE);
            case LVT_ERROR -> lvt[L_ERROR] = masked(v & LVT_ERROR_WRITABLE);
            case TIMER_INITIAL -> startTimer(v & 0xFFFF_FFFFL);
            case TIMER_DIVIDE -> divideConfig = v & 0xB;
            case VERSION, PPR, APR, RRD, TIMER_CURRENT -> { } // read-only
            default -> {
                boolean readOnlySet = reg >= ISR && reg < IRR + 0x80;
                if (!readOnlySet) {
                    error(ESR_ILLEGAL_REGISTER);
                }
            }
        }
    }

    private int masked(int entry) {
        return (svr & SVR_ENABLE) == 0 ? entry | LVT_MASKED : entry;
    }

    // ------------------------------------------------------------------ interrupts in

    /**
     * Takes one message addressed to this APIC (from {@link ApicBus}); returns whether it was accepted.
     * Called from any thread.
     */
    boolean accept(DeliveryMode mode, int vector, boolean level) {
        if (mode == null || (apicBase & BASE_ENABLE) == 0) {
            return false;
        }
        switch (mode) {
            case FIXED, LOWEST_PRIORITY -> {
                boolean accepted;
                boolean ready;
                synchronized (lock) {
                    accepted = acceptFixed(vector, level);
                    ready = update();
                }
                if (ready) {
                    signals.interruptPending();
                }
                return accepted;
            }
            case NMI -> signals.nmi();
            case INIT -> {
                synchronized (lock) {
                    initState(); // §11.4.7.3: INIT resets the APIC but for its ID and base
                }
                signals.init();
            }
            case STARTUP -> signals.startup(vector);
            case EXTINT -> {
                extIntMessage = true;
                signals.interruptPending();
            }
            default -> {
                return false; // SMI: no SMM
            }
        }
        return true;
    }

    /** Whether this APIC takes fixed interrupts (globally and software enabled). */
    boolean acceptsFixed() {
        return (apicBase & BASE_ENABLE) != 0 && (svr & SVR_ENABLE) != 0;
    }

    boolean globallyEnabled() {
        return (apicBase & BASE_ENABLE) != 0;
    }

    /** Physical destination (§11.6.2.1): the APIC ID, or 0xFF for everyone. */
    boolean matchesPhysical(int destination) {
        return destination == 0xFF || destination == id;
    }

    /** Logical destination (§11.6.2.2): flat (LDR bit set in the mask) or cluster (same cluster, bit in mask). */
    boolean matchesLogical(int destination) {
        if (destination == 0xFF) {
            return true;
        }
        int l = ldr;
        if ((dfr >>> 28) == DFR_FLAT) {
            return (l & destination) != 0;
        }
        int cluster = destination >> 4;
        return (cluster == 0xF || cluster == l >> 4) && (l & destination & 0xF) != 0;
    }

    int taskPriority() {
        return tpr;
    }

    private boolean acceptFixed(int vector, boolean level) {
        if ((svr & SVR_ENABLE) == 0) {
            return false; // a software-disabled APIC takes no fixed interrupts (as KVM)
        }
        if (vector < 16) {
            error(ESR_RECEIVE_ILLEGAL_VECTOR);
            return false;
        }
        irr.set(vector);
        if (level) {
            tmr.set(vector);
        } else {
            tmr.clear(vector);
        }
        return true;
    }

    private void lint(int which, boolean level) {
        boolean nmi = false;
        boolean ready;
        synchronized (lock) {
            boolean rising = level && !(which == L_LINT0 ? lint0Level : lint1Level);
            if (which == L_LINT0) {
                lint0Level = level;
                extIntLevel = level;
            } else {
                lint1Level = level;
            }
            int entry = lvt[which];
            if ((apicBase & BASE_ENABLE) == 0) {
                nmi = rising && which == L_LINT1; // §11.4.3: with the APIC off, LINT1 is the NMI pin
            } else if ((entry & LVT_MASKED) == 0 && rising) {
                DeliveryMode mode = DeliveryMode.of(entry >> LVT_MODE_SHIFT);
                if (mode == DeliveryMode.NMI) {
                    nmi = true;
                } else if (mode == DeliveryMode.FIXED) {
                    acceptFixed(entry & 0xFF, (entry & LVT_LEVEL) != 0);
                } // ExtINT is level-sensitive: hasInterrupt() follows the pin; other modes do nothing

            }
            ready = update();
        }
        if (nmi) {
            signals.nmi();
        }
        if (ready) {
            signals.interruptPending();
        }
    }

    private void error(int bit) {
        boolean fresh = (esrPending & bit) == 0;
        esrPending |= bit;
        int entry = lvt[L_ERROR];
        if (fresh && (entry & LVT_MASKED) == 0 && (entry & 0xFF) >= 16) {
            acceptFixed(entry & 0xFF, false);
        }
    }

    // ------------------------------------------------------------------ priorities, EOI, IPIs

    /** §11.8.3.1: PPR is the TPR when its class is at least the highest in-service class, else that class. */
    private int ppr() {
        int t = tpr;
        int isrv = Math.max(isr.highest(), 0);
        return (t & 0xF0) >= (isrv & 0xF0) ? t : isrv & 0xF0;
    }

    /** Recomputes the hot-path summaries; returns whether an interrupt is ready now. */
    private boolean update() {
        int v = irr.highest();
        fixedReady = v >= 0 && (v & 0xF0) > (ppr() & 0xF0);
        int lint0 = lvt[L_LINT0];
        // As KVM's kvm_apic_accept_pic_intr: a disabled APIC passes INTR through, else LINT0 unmasked ExtINT.
        extIntAccepted = (apicBase & BASE_ENABLE) == 0
                || (lint0 & (LVT_MASKED | (7 << LVT_MODE_SHIFT))) == DeliveryMode.EXTINT.bits() << LVT_MODE_SHIFT;
        return hasInterrupt();
    }

    private void wakeIfReady() {
        if (hasInterrupt()) {
            signals.interruptPending();
        }
    }

    /** Retires the highest in-service vector; returns it if the IOAPIC must see the EOI, else -1. */
    private int eoi() {
        int v = isr.highest();
        if (v < 0) {
            return -1;
        }
        isr.clear(v);
        return tmr.contains(v) ? v : -1;
    }

    /** The message the ICR now describes, or null when nothing is sent. */
    private InterruptMessage ipiMessage() {
        DeliveryMode mode = DeliveryMode.of(icrLow >> 8);
        int vector = icrLow & 0xFF;
        boolean levelTriggered = (icrLow & ICR_LEVEL) != 0;
        if (mode == null || mode == DeliveryMode.EXTINT || mode == DeliveryMode.SMI) {
            return null;
        }
        if (mode == DeliveryMode.INIT && levelTriggered && (icrLow & ICR_ASSERT) == 0) {
            return null; // INIT level de-assert: no effect on P6 and later (§11.6.1)
        }
        if ((mode == DeliveryMode.FIXED || mode == DeliveryMode.LOWEST_PRIORITY) && vector < 16) {
            error(ESR_SEND_ILLEGAL_VECTOR);
            return null;
        }
        // IPIs are edge-triggered for the receiver's TMR (only the IOAPIC's level interrupts set it).
        return new InterruptMessage(icrHigh >>> 24, (icrLow & ICR_LOGICAL) != 0, mode, vector, false);
    }

    // ------------------------------------------------------------------ timer

    private int timerMode() {
        int m = (lvt[L_TIMER] >> TIMER_MODE_SHIFT) & 3;
        return m == 3 ? TIMER_ONE_SHOT : m;
    }

    /** The divide configuration register's divisor (§11.5.4, figure 11-10): bits 3, 1:0. */
    private int divisor() {
        int code = (divideConfig & 3) | ((divideConfig >> 1) & 4);
        return code == 7 ? 1 : 2 << code;
    }

    private long timerPeriodNanos() {
        return initialCount * timerDivisor; // one bus tick per nanosecond
    }

    private void startTimer(long count) {
        if (timerMode() == TIMER_TSC_DEADLINE) {
            return; // §11.5.4.1: the initial count is ignored in TSC-deadline mode
        }
        initialCount = count;
        timerArmed = count != 0;
        if (timerArmed) {
            timerStart = nanoTime.getAsLong();
            timerDivisor = divisor();
            long first = timerPeriodNanos();
            if (timerMode() == TIMER_PERIODIC) {
                first = Math.max(first, MIN_PERIOD_NANOS);
            }
            timerNext = timerStart + first;
        }
        publishTimer();
    }

    private long currentCount(long now) {
        if (initialCount == 0 || timerMode() == TIMER_TSC_DEADLINE || (!timerArmed && timerMode() == TIMER_ONE_SHOT)) {
            return 0;
        }
        long ticks = Math.max(0, now - timerStart) / timerDivisor;
        if (timerMode() == TIMER_PERIODIC) {
            return initialCount - ticks % initialCount;
        }
        return Math.max(0, initialCount - ticks);
    }

    private void publishTimer() {
        nextTimerNanos = timerArmed ? timerNext : Long.MAX_VALUE;
    }

    /** Register state after INIT (and, with the ID and base, after power-on). */
    private void initState() {
        irr.clearAll();
        isr.clearAll();
        tmr.clearAll();
        tpr = 0;
        ldr = 0;
        dfr = 0xFFFF_FFFF;
        svr = SVR_RESET;
        for (int i = 0; i < LVT_COUNT; i++) {
            lvt[i] = LVT_MASKED;
        }
        esr = 0;
        esrPending = 0;
        icrLow = 0;
        icrHigh = 0;
        divideConfig = 0;
        initialCount = 0;
        timerArmed = false;
        tscDeadline = 0;
        extIntMessage = false;
        publishTimer();
        update();
    }

    @Override
    public String toString() {
        return "lapic-" + hardwareId;
    }
}
