package dev.apiary.vmm.chipset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.pci.RecordingInterruptLine;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The PIT driven as Linux's calibration code and clock-event driver drive it, on an injected clock. */
class Pit8254Test {
    private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
    private final RecordingInterruptLine irq0 = new RecordingInterruptLine();
    private final Bus ports = new Bus("ports");
    private Pit8254 pit;

    @BeforeEach
    void setUp() {
        pit = new Pit8254(irq0, now::get);
        pit.attach(ports);
    }

    @AfterEach
    void tearDown() {
        pit.stop();
    }

    private void out(int port, int value) {
        ports.write(port, 1, value);
    }

    private int in(int port) {
        return (int) ports.read(port, 1);
    }

    /** Advances the synthetic clock by exactly {@code ticks} PIT input clocks (or just past them). */
    private void advanceTicks(long ticks) {
        now.addAndGet(Pit8254.nanos(ticks));
    }

    private int readCount16(int port) {
        int lo = in(port);
        return lo | in(port) << 8;
    }

    @Test
    void tickConversionsAreExactAndDoNotOverflow() {
        assertEquals(Pit8254.HZ, Pit8254.ticks(1_000_000_000L));
        assertEquals(1193, Pit8254.ticks(1_000_000L));
        assertEquals(Pit8254.HZ * 86_400L * 365, Pit8254.ticks(86_400L * 365 * 1_000_000_000L));
        for (long t : new long[] {0, 1, 2, 1193, 65536, 1_193_181, 9_999_999_999L}) {
            assertEquals(t, Pit8254.ticks(Pit8254.nanos(t)), "round trip of " + t);
        }
    }

    @Test
    void linuxPitCalibrateTscOnChannel2() {
        // arch/x86/kernel/tsc.c pit_calibrate_tsc: gate high, speaker off, mode 0, poll bit 5 of port 0x61.
        out(0x61, (in(0x61) & ~0x02) | 0x01);
        out(0x43, 0xB0);
        int latch = (int) (Pit8254.HZ / (1000 / 50));
        out(0x42, latch & 0xFF);
        out(0x42, latch >> 8);
        assertEquals(0, in(0x61) & 0x20, "OUT 2 low while counting");
        assertEquals(0x01, in(0x61) & 0x03);
        advanceTicks(latch - 1);
        assertEquals(0, in(0x61) & 0x20);
        advanceTicks(1);
        assertEquals(0x20, in(0x61) & 0x20, "OUT 2 rises at terminal count");
        advanceTicks(100_000);
        assertEquals(0x20, in(0x61) & 0x20, "and stays high in mode 0");
    }

    @Test
    void quickPitCalibrateReadsTheMsbFallingSteadily() {
        // arch/x86/kernel/tsc.c quick_pit_calibrate: mode 0 with 0xFFFF, reads of LSB then MSB.
        out(0x61, (in(0x61) & ~0x02) | 0x01);
        out(0x43, 0xB0);
        out(0x42, 0xFF);
        out(0x42, 0xFF);
        assertEquals(0xFFFF, readCount16(0x42));
        advanceTicks(256);
        assertEquals(0xFEFF, readCount16(0x42));
        for (int expected = 0xFE; expected > 0xF0; expected--) {
            advanceTicks(256);
            in(0x42);
            assertEquals(expected - 1, in(0x42));
        }
    }

    @Test
    void gateLowSuspendsMode0() {
        out(0x43, 0xB0);
        out(0x42, 0x00);
        out(0x42, 0x10); // 4096, gate still low
        advanceTicks(1000);
        assertEquals(4096, readCount16(0x42), "not counting with the gate low");
        out(0x61, 0x01);
        advanceTicks(96);
        out(0x61, 0x00);
        advanceTicks(1000);
        assertEquals(4000, readCount16(0x42));
        out(0x61, 0x01);
        advanceTicks(4000);
        assertEquals(0x20, in(0x61) & 0x20);
    }

    @Test
    void mode2RateGenerator() {
        out(0x43, 0x34); // channel 0, lo/hi, mode 2
        out(0x40, 100);
        out(0x40, 0);
        assertTrue(pit.out(0));
        advanceTicks(98);
        assertEquals(2, readCount16(0x40));
        assertTrue(pit.out(0));
        advanceTicks(1);
        assertFalse(pit.out(0), "low for the tick at count 1");
        assertEquals(1, readCount16(0x40));
        advanceTicks(1);
        assertTrue(pit.out(0));
        assertEquals(100, readCount16(0x40), "reloaded");
    }

    @Test
    void mode3SquareWaveOnChannel2() {
        out(0x61, 0x03); // gate and speaker on
        assertTrue(pit.speakerOn());
        out(0x43, 0xB6); // channel 2, lo/hi, mode 3
        out(0x42, 10);
        out(0x42, 0);
        assertEquals(0x20, in(0x61) & 0x20, "high first half");
        assertEquals(10, readCount16(0x42));
        advanceTicks(2);
        assertEquals(6, readCount16(0x42), "counts down by two");
        advanceTicks(3);
        assertEquals(0, in(0x61) & 0x20, "low second half");
        advanceTicks(5);
        assertEquals(0x20, in(0x61) & 0x20);
        out(0x61, 0x02);
        assertEquals(0x20, in(0x61) & 0x20, "gate low forces OUT high");
        assertFalse(pit.speakerOn());
    }

    @Test
    void mode4StrobeAndMode1Trigger() {
        out(0x61, 0x01);
        out(0x43, 0xB8); // channel 2, mode 4
        out(0x42, 5);
        out(0x42, 0);
        advanceTicks(5);
        assertEquals(0, in(0x61) & 0x20, "one-tick strobe at terminal count");
        advanceTicks(1);
        assertEquals(0x20, in(0x61) & 0x20);

        out(0x61, 0x00);
        out(0x43, 0xB2); // channel 2, mode 1
        out(0x42, 5);
        out(0x42, 0);
        advanceTicks(10);
        assertEquals(0x20, in(0x61) & 0x20, "waits for a gate edge");
        out(0x61, 0x01);
        assertEquals(0, in(0x61) & 0x20, "triggered: low");
        advanceTicks(5);
        assertEquals(0x20, in(0x61) & 0x20);
    }

    @Test
    void latchCommandFreezesTheReadValue() {
        out(0x43, 0x34);
        out(0x40, 0x00);
        out(0x40, 0x10); // 4096
        advanceTicks(96);
        out(0x43, 0x00); // latch channel 0
        advanceTicks(1000);
        assertEquals(4000, readCount16(0x40), "the latched count");
        assertEquals(3000, readCount16(0x40), "then the live count again");
        out(0x43, 0x00);
        out(0x43, 0x00); // a second latch before reading is ignored
        advanceTicks(10);
        assertEquals(3000, readCount16(0x40));
    }

    @Test
    void readBackCommandLatchesStatusAndCount() {
        out(0x43, 0x34);
        out(0x43, 0xE2); // read back status only, channel 0
        assertEquals(0x80 | 0x40 | 0x34, in(0x40), "OUT high, null count, lo/hi, mode 2");
        out(0x40, 0x00);
        out(0x40, 0x01); // 256
        advanceTicks(6);
        out(0x43, 0xC2); // count and status
        advanceTicks(50);
        assertEquals(0x80 | 0x34, in(0x40), "count loaded: null count clear");
        assertEquals(250, readCount16(0x40));

        out(0x43, 0x90); // channel 2, LSB only, mode 0
        out(0x42, 0x20);
        out(0x43, 0xD8); // count of channel 2 (bit 3)
        assertEquals(0x20, in(0x42), "gate low: held");
    }

    @Test
    void lsbOnlyMsbOnlyAndBcd() {
        out(0x61, 0x01);
        out(0x43, 0xA0); // channel 2, MSB only, mode 0
        out(0x42, 0x02); // 0x0200
        advanceTicks(0x100);
        assertEquals(0x01, in(0x42));
        out(0x43, 0x90); // LSB only
        out(0x42, 0x80);
        advanceTicks(0x10);
        assertEquals(0x70, in(0x42));

        out(0x43, 0xB1); // lo/hi, mode 0, BCD
        out(0x42, 0x00);
        out(0x42, 0x10); // 1000 decimal
        advanceTicks(1);
        assertEquals(0x0999, readCount16(0x42));
        advanceTicks(999);
        assertEquals(0x0000, readCount16(0x42));
        advanceTicks(1);
        assertEquals(0x9999, readCount16(0x42), "BCD wraps at 10000");
        out(0x43, 0xE8);
        assertEquals(0x01, in(0x42) & 0x01, "the BCD flag reads back");
    }

    @Test
    void refreshToggleFollowsTime() {
        int a = in(0x61) & 0x10;
        now.addAndGet(Pit8254.REFRESH_NANOS);
        assertEquals(a ^ 0x10, in(0x61) & 0x10);
    }

    @Test
    void hostileAccessesNeverThrow() {
        for (int v = 0; v < 256; v++) {
            out(0x43, v);
            out(0x40 + (v % 3), v);
            in(0x40 + (v % 3));
            out(0x61, v);
            advanceTicks(v * 7L);
        }
        ports.write(0x40, 4, 0xFFFF_FFFFL);
        ports.read(0x41, 4);
        pit.read(-1, 1);
        pit.write(99, 2, 7);
    }

    @Test
    void noTimerThreadUntilChannel0Counts() {
        pit.start();
        out(0x43, 0xB0);
        out(0x61, 0x01);
        out(0x42, 0x10);
        out(0x42, 0x00);
        assertFalse(pit.timerThreadCreated(), "channel 2 needs no thread");
    }

    private static boolean await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(1);
        }
        return true;
    }

    @Test
    void periodicIrq0PulsesOnTheRealClock() throws InterruptedException {
        Pit8254 real = new Pit8254(irq0);
        Bus realPorts = new Bus("real");
        real.attach(realPorts);
        try {
            real.start();
            realPorts.write(0x43, 1, 0x34); // mode 2, as Linux's periodic PIT clock event
            realPorts.write(0x40, 1, 1193 & 0xFF);
            realPorts.write(0x40, 1, 1193 >> 8);
            assertTrue(await(() -> irq0.risingEdges() >= 3), "IRQ 0 pulses in mode 2");
            assertFalse(irq0.level(), "pulses are edges: the line ends low");

            realPorts.write(0x43, 1, 0x36); // mode 3
            realPorts.write(0x40, 1, 0);
            realPorts.write(0x40, 1, 0x10);
            irq0.clear();
            assertTrue(await(() -> irq0.risingEdges() >= 2), "IRQ 0 pulses in mode 3");

            real.pause();
            real.resume();
            irq0.clear();
            assertTrue(await(() -> irq0.risingEdges() >= 1), "and again after resume");
        } finally {
            real.stop();
        }
    }

    @Test
    void oneShotIrq0OnTheRealClock() throws InterruptedException {
        Pit8254 real = new Pit8254(irq0);
        Bus realPorts = new Bus("real");
        real.attach(realPorts);
        try {
            real.start();
            realPorts.write(0x43, 1, 0x30); // mode 0, as Linux's one-shot PIT clock event
            realPorts.write(0x40, 1, 0x00);
            realPorts.write(0x40, 1, 0x10);
            assertTrue(await(() -> irq0.risingEdges() >= 1), "IRQ 0 at terminal count");
            assertTrue(real.out(0));
        } finally {
            real.stop();
        }
    }

    @Test
    void resetReturnsToPowerOn() {
        out(0x61, 0x03);
        out(0x43, 0x34);
        out(0x40, 1);
        out(0x40, 0);
        pit.reset();
        assertEquals(0, in(0x61) & 0x0F);
        out(0x43, 0xE2);
        assertEquals(0x40 | 0x30, in(0x40), "mode 0, OUT low, null count");
    }
}
