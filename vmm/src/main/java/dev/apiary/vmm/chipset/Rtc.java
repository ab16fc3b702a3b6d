package dev.apiary.vmm.chipset;

import static dev.apiary.vmm.chipset.RtcRegs.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.memory.MemoryLayout;
import java.lang.System.Logger.Level;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The MC146818A real-time clock and 128 bytes of CMOS RAM behind ports 0x70 (index, bit 7 = NMI disable)
 * and 0x71 (data), interrupting on ISA IRQ 8.
 *
 * <p>Time is the host's real clock in UTC plus an offset: the guest sets the clock the usual way (SET in
 * register B, write the time registers, clear SET), which changes only the offset; the time registers then
 * read in the format register B asks for (BCD or binary, 12- or 24-hour). Register A's update-in-progress
 * bit is set for the 244 µs before each second's update, as on the chip (and QEMU), so drivers that wait for
 * UIP to fall read a consistent time. The CMOS RAM (0x0E–0x7F) is battery-backed: it and the clock survive
 * {@link #reset()}, which only clears the interrupt enables and flags as the chip's RESET pin does.
 *
 * <p>Interrupts: the periodic (rate from register A), alarm and update-ended flags in register C are
 * computed from the clock whenever the RTC is accessed, so polled drivers see exact flags; between
 * accesses a timer thread (started by {@link #start()}) raises IRQ 8 at the next enabled event, no faster
 * than every 500 µs (periodic rates above 2 kHz coalesce). IRQ 8 is high while register C's IRQF is set and
 * falls when register C is read.
 *
 * <p>Not emulated: daylight-saving adjustment (DSE), the square-wave output, the divider reset and
 * time-base selection (a non-running divider only stops UIP and the flags; the clock keeps time), the
 * extended CMOS bank at 0x72/0x73.
 */
public final class Rtc implements Device, IoHandler {
    private static final System.Logger LOG = System.getLogger(Rtc.class.getName());
    private static final long NS = 1_000_000_000L;
    private static final long MIN_TIMER_NANOS = 500_000;
    private static final int[] TIME_REGISTERS = {SECONDS, MINUTES, HOURS, DAY_OF_WEEK, DAY_OF_MONTH, MONTH, YEAR, CENTURY};

    private final InterruptLine irq;
    private final LongSupplier clock;
    private final byte[] cmos = new byte[CMOS_SIZE];

    private int index;
    private boolean nmiDisabled;
    private int regA = A_DEFAULT;
    private int regB = B_DEFAULT;
    private int regC;
    private long offsetNanos;
    private long lastFlagsGuestNanos;
    private boolean irqLevel;

    private ScheduledExecutorService timer;
    private ScheduledFuture<?> scheduled;
    private boolean paused;

    /**
     * @param layout guest RAM, for the memory-size bytes
     * @param cpus   vCPU count (byte 0x5F)
     * @param irq8   ISA IRQ 8
     */
    public Rtc(MemoryLayout layout, int cpus, InterruptLine irq8) {
        this(layout, cpus, irq8, realClock());
    }

    /** As above with the wall clock: nanoseconds since the Unix epoch, UTC. */
    public Rtc(MemoryLayout layout, int cpus, InterruptLine irq8, LongSupplier epochNanos) {
        this.irq = irq8;
        this.clock = epochNanos;
        fillFirmwareBytes(layout, cpus);
        this.lastFlagsGuestNanos = guestNanos(clock.getAsLong());
    }

    /** Wall time at construction advanced by the monotonic clock, so the guest never sees time step back. */
    private static LongSupplier realClock() {
        Instant start = Instant.now();
        long startEpochNanos = start.getEpochSecond() * NS + start.getNano();
        long startMono = System.nanoTime();
        return () -> startEpochNanos + (System.nanoTime() - startMono);
    }

    private void fillFirmwareBytes(MemoryLayout layout, int cpus) {
        // As QEMU's pc_cmos_init(); SeaBIOS and OVMF read these to size RAM.
        long below4g = layout.lowRamBytes();
        long base = Math.min(below4g / 1024, 640);
        setWord(CMOS_BASE_MEMORY_LO, base);
        long extended = below4g > (1L << 20) ? Math.min((below4g - (1L << 20)) / 1024, 0xFFFF) : 0;
        setWord(CMOS_EXTENDED_MEMORY_LO, extended);
        setWord(CMOS_EXTENDED_MEMORY2_LO, extended);
        long above16m = below4g > (16L << 20) ? Math.min((below4g - (16L << 20)) / 65536, 0xFFFF) : 0;
        setWord(CMOS_MEMORY_ABOVE_16M_LO, above16m);
        long above4g = layout.highRamBytes() / 65536;
        cmos[CMOS_MEMORY_ABOVE_4G_LO] = (byte) above4g;
        cmos[CMOS_MEMORY_ABOVE_4G_MID] = (byte) (above4g >>> 8);
        cmos[CMOS_MEMORY_ABOVE_4G_HI] = (byte) (above4g >>> 16);
        cmos[CMOS_EQUIPMENT] = (byte) EQUIPMENT_FPU;
        cmos[CMOS_CPU_COUNT_MINUS_ONE] = (byte) Math.max(0, cpus - 1);
    }

    private void setWord(int lo, long value) {
        cmos[lo] = (byte) value;
        cmos[lo + 1] = (byte) (value >>> 8);
    }

    @Override
    public String name() {
        return "lpc-rtc";
    }

    /** Maps ports 0x70–0x71. */
    public void attach(Bus portBus) {
        portBus.register(INDEX_PORT, 2, name(), this);
    }

    /**
     * A CMOS byte as the guest would read it through port 0x71 (time registers included), except that
     * register C is not cleared by looking at it.
     */
    public synchronized int cmos(int index) {
        int reg = index & INDEX_MASK;
        if (reg == REG_C) {
            updateFlags(clock.getAsLong());
            return regC;
        }
        return readRegister(reg);
    }

    /** Writes a battery-backed CMOS RAM byte (0x0E–0x7F) from the VMM side, e.g. a boot order. */
    public synchronized void setCmos(int index, int value) {
        if (index >= CMOS_SHUTDOWN_STATUS - 1 && index < CMOS_SIZE && index != CENTURY) {
            cmos[index] = (byte) value;
        }
    }

    /** Port 0x70 bit 7 as the guest last wrote it. */
    public synchronized boolean nmiDisabled() {
        return nmiDisabled;
    }

    // ---- lifecycle ----

    @Override
    public synchronized void start() {
        if (timer == null) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, name() + "-timer");
                t.setDaemon(true);
                return t;
            });
        }
        reschedule();
    }

    @Override
    public synchronized void pause() {
        paused = true;
        reschedule();
    }

    @Override
    public synchronized void resume() {
        paused = false;
        reschedule();
    }

    /** The chip's RESET: interrupt enables and flags clear; time, A, data mode and CMOS RAM are kept. */
    @Override
    public synchronized void reset() {
        regB &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
        regC = 0;
        index = 0;
        nmiDisabled = false;
        updateIrq();
        reschedule();
    }

    @Override
    public synchronized void stop() {
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
            scheduled = null;
        }
    }

    // ---- ports ----

    @Override
    public synchronized long read(long offset, int size) {
        long value = 0;
        for (int i = 0; i < Math.min(size, 4); i++) {
            long port = offset + i;
            // The index register is write-only; reads float high (as QEMU).
            int b = port == 1 ? readRegister(index) : 0xFF;
            value |= (long) b << (8 * i);
        }
        return value;
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        for (int i = 0; i < Math.min(size, 4); i++) {
            long port = offset + i;
            int b = (int) (value >>> (8 * i)) & 0xFF;
            if (port == 0) {
                index = b & INDEX_MASK;
                nmiDisabled = (b & NMI_DISABLE) != 0;
            } else if (port == 1) {
                writeRegister(index, b);
            }
        }
    }

    private int readRegister(int reg) {
        long now = clock.getAsLong();
        updateFlags(now);
        if (isTimeRegister(reg)) {
            return (regB & B_SET) != 0 ? cmos[reg] & 0xFF : encodeTimeField(reg, guestNanos(now));
        }
        return switch (reg) {
            case REG_A -> regA | (updateInProgress(now) ? A_UIP : 0);
            case REG_B -> regB;
            case REG_C -> {
                int v = regC;
                regC = 0;
                updateIrq();
                yield v;
            }
            case REG_D -> D_VRT; // the battery is always good
            default -> cmos[reg] & 0xFF;
        };
    }

    private void writeRegister(int reg, int value) {
        long now = clock.getAsLong();
        updateFlags(now);
        if (isTimeRegister(reg)) {
            if ((regB & B_SET) != 0) {
                cmos[reg] = (byte) value;
            } else {
                // Without SET the write lands between updates: set that one field of the running clock.
                latchTime(now);
                cmos[reg] = (byte) value;
                applyLatchedTime(now);
                reschedule();
            }
            return;
        }
        switch (reg) {
            case REG_A -> {
                regA = value & ~A_UIP;
                reschedule();
            }
            case REG_B -> {
                int old = regB;
                regB = value;
                if ((value & B_SET) != 0) {
                    regB &= ~B_UIE; // datasheet: setting SET clears UIE
                    if ((old & B_SET) == 0) {
                        latchTime(now);
                    }
                } else if ((old & B_SET) != 0) {
                    applyLatchedTime(now);
                }
                updateIrq();
                reschedule();
            }
            case REG_C, REG_D -> {
                // read-only
            }
            default -> cmos[reg] = (byte) value;
        }
    }

    // ---- time ----

    private long guestNanos(long now) {
        return now + offsetNanos;
    }

    private static boolean isTimeRegister(int reg) {
        for (int r : TIME_REGISTERS) {
            if (r == reg) {
                return true;
            }
        }
        return false;
    }

    private boolean dividerRunning() {
        return (regA & A_DV_MASK) == A_DV_32KHZ;
    }

    private boolean updateInProgress(long now) {
        return dividerRunning() && (regB & B_SET) == 0 && Math.floorMod(guestNanos(now), NS) >= NS - UIP_LEAD_NANOS;
    }

    private int encode(int v) {
        return (regB & B_DM_BINARY) != 0 ? v : ((v / 10) << 4) | (v % 10);
    }

    private int decode(int v) {
        return (regB & B_DM_BINARY) != 0 ? v : ((v >>> 4) & 0xF) * 10 + (v & 0xF);
    }

    private int encodeHour(int hour24) {
        if ((regB & B_24_HOUR) != 0) {
            return encode(hour24);
        }
        int h12 = hour24 % 12 == 0 ? 12 : hour24 % 12;
        return encode(h12) | (hour24 >= 12 ? HOURS_PM : 0);
    }

    private int decodeHour(int v) {
        if ((regB & B_24_HOUR) != 0) {
            return decode(v);
        }
        int h12 = decode(v & ~HOURS_PM);
        return h12 % 12 + ((v & HOURS_PM) != 0 ? 12 : 0);
    }

    private int encodeTimeField(int reg, long guestNanos) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(Math.floorDiv(guestNanos, NS), 0, ZoneOffset.UTC);
        return switch (reg) {
            case SECONDS -> encode(t.getSecond());
            case MINUTES -> encode(t.getMinute());
            case HOURS -> encodeHour(t.getHour());
            case DAY_OF_WEEK -> encode(t.getDayOfWeek().getValue() % 7 + 1); // 1 = Sunday
            case DAY_OF_MONTH -> encode(t.getDayOfMonth());
            case MONTH -> encode(t.getMonthValue());
            case YEAR -> encode(t.getYear() % 100);
            default -> encode(t.getYear() / 100 % 100); // CENTURY
        };
    }

    private void latchTime(long now) {
        long g = guestNanos(now);
        for (int reg : TIME_REGISTERS) {
            cmos[reg] = (byte) encodeTimeField(reg, g);
        }
    }

    private void applyLatchedTime(long now) {
        try {
            int century = decode(cmos[CENTURY] & 0xFF);
            int yy = decode(cmos[YEAR] & 0xFF);
            int year = century > 0 ? century * 100 + yy : (yy < 70 ? 2000 : 1900) + yy;
            LocalDateTime t = LocalDateTime.of(year, decode(cmos[MONTH] & 0xFF), decode(cmos[DAY_OF_MONTH] & 0xFF),
                    decodeHour(cmos[HOURS] & 0xFF), decode(cmos[MINUTES] & 0xFF), decode(cmos[SECONDS] & 0xFF));
            // The new second starts now: the next update is one second away, as after SET is cleared.
            offsetNanos = t.toEpochSecond(ZoneOffset.UTC) * NS - now;
            lastFlagsGuestNanos = guestNanos(now);
        } catch (DateTimeException e) {
            LOG.log(Level.WARNING, "{0}: guest set an invalid time ({1}); clock unchanged", name(), e.getMessage());
        }
    }

    // ---- interrupts ----

    private long periodNanos() {
        int rs = regA & A_RS_MASK;
        if (rs == 0) {
            return 0;
        }
        int shift = rs <= 2 ? rs + 7 : rs - 1; // rates 1 and 2 repeat 8 and 9 (datasheet table 5)
        return (NS << shift) / 32_768;
    }

    private void updateFlags(long now) {
        long g = guestNanos(now);
        long last = lastFlagsGuestNanos;
        lastFlagsGuestNanos = g;
        if (!dividerRunning() || (regB & B_SET) != 0 || g <= last) {
            updateIrq();
            return;
        }
        long prevSecond = Math.floorDiv(last, NS);
        long second = Math.floorDiv(g, NS);
        if (second > prevSecond) {
            regC |= C_UF;
            if (alarmMatchedIn(prevSecond, second)) {
                regC |= C_AF;
            }
        }
        long p = periodNanos();
        if (p > 0 && Math.floorDiv(g, p) > Math.floorDiv(last, p)) {
            regC |= C_PF;
        }
        updateIrq();
    }

    /** Whether an update in seconds (from, to] matched the alarm (at most one day is examined). */
    private boolean alarmMatchedIn(long from, long to) {
        for (long s = Math.max(from + 1, to - 86_399); s <= to; s++) {
            int tod = (int) Math.floorMod(s, 86_400L);
            if (alarmByteMatches(SECONDS_ALARM, encode(tod % 60))
                    && alarmByteMatches(MINUTES_ALARM, encode(tod / 60 % 60))
                    && alarmByteMatches(HOURS_ALARM, encodeHour(tod / 3600))) {
                return true;
            }
        }
        return false;
    }

    private boolean alarmByteMatches(int reg, int value) {
        int alarm = cmos[reg] & 0xFF;
        return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == value;
    }

    private void updateIrq() {
        int enabled = ((regB & B_PIE) != 0 ? C_PF : 0) | ((regB & B_AIE) != 0 ? C_AF : 0) | ((regB & B_UIE) != 0 ? C_UF : 0);
        if ((regC & enabled) != 0) {
            regC |= C_IRQF;
        }
        boolean level = (regC & C_IRQF) != 0;
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }

    /** Arms the timer thread for the next enabled event, if any. */
    private void reschedule() {
        if (scheduled != null) {
            scheduled.cancel(false);
            scheduled = null;
        }
        if (timer == null || paused || !dividerRunning() || (regB & B_SET) != 0) {
            return;
        }
        long g = guestNanos(clock.getAsLong());
        long next = Long.MAX_VALUE;
        long p = periodNanos();
        if ((regB & B_PIE) != 0 && p > 0) {
            next = (Math.floorDiv(g, p) + 1) * p;
        }
        if ((regB & (B_UIE | B_AIE)) != 0) {
            next = Math.min(next, (Math.floorDiv(g, NS) + 1) * NS);
        }
        if (next == Long.MAX_VALUE) {
            return;
        }
        long delay = Math.max(MIN_TIMER_NANOS, next - g);
        scheduled = timer.schedule(this::tick, delay, TimeUnit.NANOSECONDS);
    }

    /** Timer thread: bring the flags up to date (raising IRQ 8) and arm the next event. */
    synchronized void tick() {
        updateFlags(clock.getAsLong());
        reschedule();
    }
}
