package dev.apiary.vmm.chipset;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The 8254 programmable interval timer (Intel 82C54 datasheet) as the PC wires it, for the software CPU (KVM
 * has its own in-kernel PIT): three channels clocked at 1.193182 MHz behind ports 0x40–0x42 with the control
 * word at 0x43; channel 0's OUT on ISA IRQ 0, channel 2's gate and OUT on port 0x61 (system control port B:
 * bit 0 gate 2, bit 1 speaker data, bit 4 refresh toggle, bit 5 OUT 2), which OSes use to calibrate the TSC.
 *
 * <p>Counters are never counted: each channel remembers when its count was loaded (and for how many ticks
 * it had already run when its gate fell), and computes its counter and OUT from the host clock whenever the
 * guest looks, so polled reads (Linux's {@code pit_calibrate_tsc} and {@code quick_pit_calibrate}, latch and
 * read-back commands) are exact. Modes 0–5 follow the datasheet's waveforms; mode 3's counter is modelled
 * as decrementing by two through each half period. BCD counting is honoured (modulus 10000).
 *
 * <p>IRQ 0: after {@link #start()}, one daemon thread per PIT (a scheduled executor, created when channel 0
 * is first programmed and idle otherwise) pulses the line at each rising edge of channel 0's OUT, no faster
 * than every {@value #MIN_IRQ_NANOS} ns; edges that come faster, or while the thread was late, coalesce into
 * one pulse. {@link #pause()} stops it and {@link #resume()} restarts from the current time.
 *
 * <p>Simplified: a new count written in modes 2 and 3 restarts the period at once (the chip waits for the
 * current period to end); the count loads at the write, not one input clock later; channel 1 (DRAM refresh)
 * is a plain counter with its gate high.
 */
public final class Pit8254 implements Device, IoHandler {
    /** The PIT input clock, Hz. */
    public static final long HZ = 1_193_182;
    public static final int BASE_PORT = 0x40;
    public static final int PORT_B = 0x61;
    static final long MIN_IRQ_NANOS = 100_000;
    /** Port B bit 4 toggles with each DRAM refresh request, every 15.085 µs on a PC. */
    static final long REFRESH_NANOS = 15_085;
    private static final long NS = 1_000_000_000L;

    private final InterruptLine irq0;
    private final LongSupplier nanoTime;
    private final Channel[] channels = {new Channel(), new Channel(), new Channel()};
    private boolean speakerData;
    private int portBSpare;

    private ScheduledExecutorService timer;
    private ScheduledFuture<?> scheduled;
    private long generation;
    private boolean started;
    private boolean paused;
    private boolean stopped;

    public Pit8254(InterruptLine irq0) {
        this(irq0, System::nanoTime);
    }

    /** As above with an injected host clock (System.nanoTime's time base), for tests. */
    public Pit8254(InterruptLine irq0, LongSupplier nanoTime) {
        this.irq0 = irq0;
        this.nanoTime = nanoTime;
        reset();
    }

    /** Maps ports 0x40–0x43 and port B (0x61). */
    public void attach(Bus ports) {
        ports.register(BASE_PORT, 4, "isa-pit", this);
        ports.register(PORT_B, 1, "isa-pit-port-b", portB());
    }

    @Override
    public String name() {
        return "isa-pit";
    }

    @Override
    public synchronized void start() {
        started = true;
        reschedule();
    }

    @Override
    public synchronized void pause() {
        paused = true;
        cancel();
    }

    @Override
    public synchronized void resume() {
        paused = false;
        reschedule();
    }

    /** Power-on: no channel programmed, gate 2 low, the speaker off, no IRQ 0 timer. */
    @Override
    public synchronized void reset() {
        for (int i = 0; i < channels.length; i++) {
            channels[i].powerOn(i != 2);
        }
        speakerData = false;
        portBSpare = 0;
        cancel();
    }

    @Override
    public void stop() {
        ScheduledExecutorService t;
        synchronized (this) {
            stopped = true;
            cancel();
            t = timer;
            timer = null;
        }
        if (t != null) {
            t.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ ports 0x40-0x43

    @Override
    public synchronized long read(long offset, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            long at = offset + i;
            long b = at >= 0 && at < 3 ? channels[(int) at].readByte(nanoTime.getAsLong()) : 0xFF;
            v |= (b & 0xFF) << (8 * i);
        }
        return v;
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        boolean channel0 = false;
        for (int i = 0; i < size; i++) {
            long at = offset + i;
            int b = (int) (value >>> (8 * i)) & 0xFF;
            if (at >= 0 && at < 3) {
                channels[(int) at].writeByte(b, nanoTime.getAsLong());
                channel0 |= at == 0;
            } else if (at == 3) {
                control(b);
                channel0 |= (b >> 6) == 0 || (b >> 6) == 3;
            }
        }
        if (channel0) {
            reschedule(); // channel 2 (calibration) must not disturb IRQ 0's timer
        }
    }

    /** Whether the IRQ 0 thread exists (it is created only once channel 0 counts after start). */
    synchronized boolean timerThreadCreated() {
        return timer != null;
    }

    /** Control word (datasheet "Control Word Format", "Read-Back Command"). */
    private void control(int v) {
        long now = nanoTime.getAsLong();
        int select = v >> 6;
        if (select == 3) {
            boolean latchCount = (v & 0x20) == 0;
            boolean latchStatus = (v & 0x10) == 0;
            for (int c = 0; c < 3; c++) {
                if ((v & (2 << c)) != 0) {
                    if (latchStatus) {
                        channels[c].latchStatus(now);
                    }
                    if (latchCount) {
                        channels[c].latchCount(now);
                    }
                }
            }
        } else if ((v & 0x30) == 0) {
            channels[select].latchCount(now);
        } else {
            channels[select].program(v);
        }
    }

    // ------------------------------------------------------------------ port 0x61

    /** System control port B at 0x61. */
    public IoHandler portB() {
        return new IoHandler() {
            @Override
            public long read(long offset, int size) {
                synchronized (Pit8254.this) {
                    long now = nanoTime.getAsLong();
                    Channel c2 = channels[2];
                    int v = (c2.gate ? 0x01 : 0) | (speakerData ? 0x02 : 0) | portBSpare
                            | (int) (Math.floorDiv(now, REFRESH_NANOS) & 1) << 4
                            | (c2.out(now) ? 0x20 : 0);
                    return v;
                }
            }

            @Override
            public void write(long offset, int size, long value) {
                synchronized (Pit8254.this) {
                    int v = (int) value;
                    speakerData = (v & 0x02) != 0;
                    portBSpare = v & 0x0C; // parity/channel check enables: stored, never fire
                    channels[2].setGate((v & 0x01) != 0, nanoTime.getAsLong());
                }
            }
        };
    }

    // ------------------------------------------------------------------ inspection

    /** Channel {@code c}'s OUT now. */
    public synchronized boolean out(int c) {
        return channels[c].out(nanoTime.getAsLong());
    }

    /** Whether port B enables the speaker (gate 2 and speaker data both set). */
    public synchronized boolean speakerOn() {
        return speakerData && channels[2].gate;
    }

    // ------------------------------------------------------------------ IRQ 0

    private void cancel() {
        generation++;
        if (scheduled != null) {
            scheduled.cancel(false);
            scheduled = null;
        }
    }

    /** Schedules the next IRQ 0 edge of channel 0 (after any change to it). */
    private void reschedule() {
        cancel();
        if (!started || paused || stopped) {
            return;
        }
        long now = nanoTime.getAsLong();
        long at = channels[0].nextRisingEdgeNanos(now);
        if (at == Long.MAX_VALUE) {
            return;
        }
        if (timer == null) {
            ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
                Thread th = new Thread(r, "isa-pit");
                th.setDaemon(true);
                return th;
            });
            t.setRemoveOnCancelPolicy(true);
            timer = t;
        }
        long gen = generation;
        long delay = Math.max(at - now, 0);
        scheduled = timer.schedule(() -> tick(gen, at), delay, TimeUnit.NANOSECONDS);
    }

    private void tick(long gen, long dueNanos) {
        synchronized (this) {
            if (gen != generation) {
                return;
            }
            scheduled = null;
            long now = Math.max(nanoTime.getAsLong(), dueNanos);
            // Next edge at least MIN_IRQ_NANOS after this one: faster rates coalesce.
            long next = channels[0].nextRisingEdgeNanos(Math.max(now, dueNanos + MIN_IRQ_NANOS) - 1);
            if (next != Long.MAX_VALUE && !paused && !stopped && timer != null) {
                long g = generation;
                scheduled = timer.schedule(() -> tick(g, next), Math.max(next - nanoTime.getAsLong(), 0), TimeUnit.NANOSECONDS);
            }
        }
        irq0.pulse(); // outside our lock: the PIC and IOAPIC take theirs
    }

    // ------------------------------------------------------------------ time

    /** Input clock ticks in {@code nanos} ns (rounded down), without overflow for any host uptime. */
    static long ticks(long nanos) {
        return nanos / NS * HZ + nanos % NS * HZ / NS;
    }

    /** The host nanoseconds for {@code ticks} input clock ticks (rounded up). */
    static long nanos(long ticks) {
        return ticks / HZ * NS + (ticks % HZ * NS + HZ - 1) / HZ;
    }

    static int fromBcd(int v) {
        return (v >> 12 & 0xF) * 1000 + (v >> 8 & 0xF) * 100 + (v >> 4 & 0xF) * 10 + (v & 0xF);
    }

    static int toBcd(int v) {
        return (v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10;
    }

    /** One counter. Not thread-safe: the PIT's lock covers it. */
    private static final class Channel {
        int mode;
        int access;
        boolean bcd;
        /** The count register as written (0 means the modulus). */
        int reload;
        boolean gate;
        /** A count has been loaded since the last control word. */
        boolean loaded;
        /** Modes 1 and 5: the gate has triggered the count. */
        boolean triggered;
        /** Counting: elapsed = baseTicks + ticks since startNanos while running. */
        boolean running;
        long baseTicks;
        long startNanos;
        boolean nullCount;

        boolean writeMsbNext;
        int writeLsb;
        boolean readMsbNext;
        boolean countLatched;
        int latchedCount;
        boolean latchMsbNext;
        boolean statusLatched;
        int latchedStatus;

        void powerOn(boolean gateHigh) {
            mode = 0;
            access = 3;
            bcd = false;
            reload = 0;
            gate = gateHigh;
            loaded = false;
            triggered = false;
            running = false;
            baseTicks = 0;
            nullCount = true;
            writeMsbNext = false;
            readMsbNext = false;
            countLatched = false;
            latchMsbNext = false;
            statusLatched = false;
        }

        void program(int v) {
            access = (v >> 4) & 3;
            int m = (v >> 1) & 7;
            mode = m > 5 ? m - 4 : m; // 110 and 111 are modes 2 and 3
            bcd = (v & 1) != 0;
            loaded = false;
            running = false;
            triggered = false;
            nullCount = true;
            writeMsbNext = false;
            readMsbNext = false;
            countLatched = false;
            statusLatched = false;
        }

        int modulus() {
            return bcd ? 10_000 : 65_536;
        }

        /** The initial count N (1..modulus). */
        long n() {
            int r = bcd ? fromBcd(reload) : reload;
            return r == 0 ? modulus() : r;
        }

        long elapsed(long now) {
            return baseTicks + (running ? ticks(now - startNanos) : 0);
        }

        void startCounting(long now) {
            baseTicks = 0;
            startNanos = now;
        }

        void writeByte(int b, long now) {
            switch (access) {
                case 1 -> load(b, now);
                case 2 -> load(b << 8, now);
                default -> {
                    if (!writeMsbNext) {
                        writeLsb = b;
                        writeMsbNext = true;
                        if (mode == 0) {
                            loaded = false; // mode 0: the first byte stops the count, OUT goes low
                            running = false;
                        }
                    } else {
                        writeMsbNext = false;
                        load(writeLsb | b << 8, now);
                    }
                }
            }
        }

        private void load(int count, long now) {
            reload = count & 0xFFFF;
            loaded = true;
            nullCount = false;
            startCounting(now);
            if (mode == 1 || mode == 5) {
                triggered = false;
                running = false; // waits for a gate edge
            } else {
                running = gate;
            }
        }

        void setGate(boolean level, long now) {
            if (level == gate) {
                return;
            }
            gate = level;
            if (!loaded) {
                return;
            }
            switch (mode) {
                case 0, 4 -> { // the gate suspends counting
                    if (level) {
                        startNanos = now;
                        running = true;
                    } else {
                        baseTicks = elapsed(now);
                        running = false;
                    }
                }
                case 2, 3 -> { // low stops (OUT high), the rising edge reloads
                    if (level) {
                        startCounting(now);
                        running = true;
                    } else {
                        baseTicks = elapsed(now);
                        running = false;
                    }
                }
                default -> { // 1, 5: the rising edge (re)triggers
                    if (level) {
                        startCounting(now);
                        running = true;
                        triggered = true;
                    }
                }
            }
        }

        boolean out(long now) {
            if (!loaded) {
                return mode != 0;
            }
            long t = elapsed(now);
            long n = n();
            return switch (mode) {
                case 0 -> t >= n;
                case 1 -> !triggered || t >= n;
                case 2 -> !gate || n == 1 || t % n != n - 1;
                case 3 -> !gate || t % n < (n + 1) / 2;
                case 4 -> t != n;
                default -> !triggered || t != n;
            };
        }

        int count(long now) {
            if (!loaded) {
                return 0;
            }
            long t = elapsed(now);
            long n = n();
            int m = modulus();
            long c = switch (mode) {
                case 2 -> n - t % n;
                case 3 -> {
                    long p = t % n;
                    long high = (n + 1) / 2;
                    long q = p < high ? p : p - high;
                    yield n == 1 ? 1 : Math.max(2, (n & ~1L) - 2 * q);
                }
                case 1, 5 -> triggered ? n - t : n;
                default -> n - t;
            };
            int value = (int) Math.floorMod(c, (long) m);
            return bcd ? toBcd(value) : value;
        }

        /** Host time of the first rising edge of OUT after {@code now}, or Long.MAX_VALUE for none. */
        long nextRisingEdgeNanos(long now) {
            if (!loaded || !running) {
                return Long.MAX_VALUE;
            }
            long t = elapsed(now);
            long n = n();
            long edge = switch (mode) {
                case 0 -> t < n ? n : -1;
                case 1 -> triggered && t < n ? n : -1;
                case 2, 3 -> (t / n + 1) * n;
                case 4 -> t <= n ? n + 1 : -1;
                default -> triggered && t <= n ? n + 1 : -1;
            };
            if (edge < 0) {
                return Long.MAX_VALUE;
            }
            return startNanos + nanos(edge - baseTicks);
        }

        void latchCount(long now) {
            if (!countLatched) {
                countLatched = true;
                latchedCount = count(now);
                latchMsbNext = false;
            }
        }

        void latchStatus(long now) {
            if (!statusLatched) {
                statusLatched = true;
                latchedStatus = (out(now) ? 0x80 : 0) | (nullCount ? 0x40 : 0) | access << 4 | mode << 1 | (bcd ? 1 : 0);
            }
        }

        int readByte(long now) {
            if (statusLatched) {
                statusLatched = false;
                return latchedStatus;
            }
            if (countLatched) {
                int b;
                if (access == 3) {
                    b = latchMsbNext ? latchedCount >> 8 : latchedCount;
                    latchMsbNext = !latchMsbNext;
                    countLatched = latchMsbNext;
                } else {
                    b = access == 2 ? latchedCount >> 8 : latchedCount;
                    countLatched = false;
                }
                return b & 0xFF;
            }
            int c = count(now);
            int b;
            if (access == 3) {
                b = readMsbNext ? c >> 8 : c;
                readMsbNext = !readMsbNext;
            } else {
                b = access == 2 ? c >> 8 : c;
            }
            return b & 0xFF;
        }
    }
}
