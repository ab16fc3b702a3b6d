package dev.apiary.vmm.chipset;

import static dev.apiary.vmm.chipset.RtcRegs.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.memory.MemoryLayout;
import dev.apiary.vmm.pci.RecordingInterruptLine;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The RTC driven as Linux's mc146818 code and firmware drive it, with an injected wall clock. */
class RtcTest {
    private static final long NS = 1_000_000_000L;
    /** Thursday 2024-02-29 13:45:07 UTC, 0.25 s into the second. */
    private static final long T0 = LocalDateTime.of(2024, 2, 29, 13, 45, 7).toEpochSecond(ZoneOffset.UTC) * NS + 250_000_000L;

    private final AtomicLong clock = new AtomicLong(T0);
    private final RecordingInterruptLine irq = new RecordingInterruptLine();
    private Bus ports = new Bus("ports");
    private Rtc rtc;

    @BeforeEach
    void setUp() {
        rtc = new Rtc(MemoryLayout.forRam(64L << 20), 2, irq, clock::get);
        rtc.attach(ports);
    }

    private int read(int reg) {
        ports.write(0x70, 1, reg);
        return (int) ports.read(0x71, 1);
    }

    private void write(int reg, int value) {
        ports.write(0x70, 1, reg);
        ports.write(0x71, 1, value);
    }

    @Test
    void bcdTwentyFourHourByDefault() {
        assertEquals(0x07, read(SECONDS));
        assertEquals(0x45, read(MINUTES));
        assertEquals(0x13, read(HOURS));
        assertEquals(0x05, read(DAY_OF_WEEK), "Thursday; Sunday = 1");
        assertEquals(0x29, read(DAY_OF_MONTH));
        assertEquals(0x02, read(MONTH));
        assertEquals(0x24, read(YEAR));
        assertEquals(0x20, read(CENTURY));
        assertEquals(0x26, read(REG_A));
        assertEquals(0x02, read(REG_B));
        assertEquals(0x80, read(REG_D));
    }

    @Test
    void binaryAndTwelveHourModes() {
        write(REG_B, B_DM_BINARY | B_24_HOUR);
        assertEquals(7, read(SECONDS));
        assertEquals(45, read(MINUTES));
        assertEquals(13, read(HOURS));
        assertEquals(24, read(YEAR));
        write(REG_B, B_DM_BINARY);
        assertEquals(HOURS_PM | 1, read(HOURS), "1 PM, binary");
        write(REG_B, 0);
        assertEquals(HOURS_PM | 0x01, read(HOURS), "1 PM, BCD");
        clock.set(T0 - 13 * 3600 * NS); // 00:45:07
        assertEquals(0x12, read(HOURS), "12 AM");
        clock.set(T0 - 3600 * NS); // 12:45:07
        assertEquals(HOURS_PM | 0x12, read(HOURS), "12 PM");
    }

    @Test
    void timeAdvancesWithTheClock() {
        clock.addAndGet(60 * NS);
        assertEquals(0x46, read(MINUTES));
        clock.addAndGet(10 * 3600 * NS + 15 * 60 * NS); // 2024-03-01 00:01:07
        assertEquals(0x01, read(DAY_OF_MONTH));
        assertEquals(0x03, read(MONTH));
        assertEquals(0x00, read(HOURS));
    }

    @Test
    void guestSetsTimeWithSetBit() {
        // Linux mc146818_set_time(): SET, write fields, clear SET.
        write(REG_B, B_SET | B_24_HOUR);
        write(SECONDS, 0x30);
        write(MINUTES, 0x59);
        write(HOURS, 0x23);
        write(DAY_OF_MONTH, 0x31);
        write(MONTH, 0x12);
        write(YEAR, 0x99);
        write(CENTURY, 0x19);
        assertEquals(0x30, read(SECONDS), "while SET the registers hold what was written");
        clock.addAndGet(5 * NS);
        assertEquals(0x30, read(SECONDS), "and do not update");
        write(REG_B, B_24_HOUR);
        assertEquals(0x30, read(SECONDS));
        clock.addAndGet(30 * NS);
        assertEquals(0x00, read(SECONDS));
        assertEquals(0x00, read(MINUTES));
        assertEquals(0x00, read(HOURS));
        assertEquals(0x01, read(DAY_OF_MONTH));
        assertEquals(0x01, read(MONTH));
        assertEquals(0x00, read(YEAR));
        assertEquals(0x20, read(CENTURY));
    }

    @Test
    void invalidTimeLeavesClockAlone() {
        write(REG_B, B_SET | B_24_HOUR);
        write(MONTH, 0x13);
        write(REG_B, B_24_HOUR);
        assertEquals(0x02, read(MONTH));
        assertEquals(0x07, read(SECONDS));
    }

    @Test
    void writeWithoutSetChangesOneField() {
        write(HOURS, 0x08);
        assertEquals(0x08, read(HOURS));
        assertEquals(0x45, read(MINUTES));
        clock.addAndGet(NS);
        assertEquals(0x08, read(SECONDS));
    }

    @Test
    void updateInProgressForThe244MicrosecondsBeforeTheUpdate() {
        long second = (T0 / NS) * NS;
        clock.set(second + NS - UIP_LEAD_NANOS - 1_000);
        assertEquals(0, read(REG_A) & A_UIP);
        assertEquals(0x07, read(SECONDS));
        clock.set(second + NS - UIP_LEAD_NANOS + 1_000);
        assertEquals(A_UIP, read(REG_A) & A_UIP);
        assertEquals(0x07, read(SECONDS), "the update has not happened yet");
        clock.set(second + NS);
        assertEquals(0, read(REG_A) & A_UIP);
        assertEquals(0x08, read(SECONDS));
        // No UIP while SET holds the clock, nor with the divider stopped.
        clock.set(second + 2 * NS - 100_000);
        write(REG_B, B_SET | B_24_HOUR);
        assertEquals(0, read(REG_A) & A_UIP);
        write(REG_B, B_24_HOUR);
    }

    @Test
    void memorySizeBytesFor64MiB() {
        assertEquals(640, word(CMOS_BASE_MEMORY_LO));
        assertEquals(63 * 1024, word(CMOS_EXTENDED_MEMORY_LO));
        assertEquals(63 * 1024, word(CMOS_EXTENDED_MEMORY2_LO));
        assertEquals(48 * 16, word(CMOS_MEMORY_ABOVE_16M_LO));
        assertEquals(0, above4g());
        assertEquals(1, read(CMOS_CPU_COUNT_MINUS_ONE));
        assertEquals(EQUIPMENT_FPU, read(CMOS_EQUIPMENT));
    }

    @Test
    void memorySizeBytesFor3GiB() {
        rtc = new Rtc(MemoryLayout.forRam(3L << 30), 1, irq, clock::get);
        rtc.attach(ports = new Bus("ports2"));
        assertEquals(640, word(CMOS_BASE_MEMORY_LO));
        assertEquals(0xFFFF, word(CMOS_EXTENDED_MEMORY_LO), "capped");
        assertEquals(0xFFFF, word(CMOS_EXTENDED_MEMORY2_LO));
        assertEquals((3072 - 16) * 16, word(CMOS_MEMORY_ABOVE_16M_LO));
        assertEquals(0, above4g());
        assertEquals(0, read(CMOS_CPU_COUNT_MINUS_ONE));
    }

    @Test
    void memorySizeBytesAbove4GiB() {
        rtc = new Rtc(MemoryLayout.forRam(6L << 30), 4, irq, clock::get);
        rtc.attach(ports = new Bus("ports2"));
        assertEquals((3072 - 16) * 16, word(CMOS_MEMORY_ABOVE_16M_LO), "low RAM stops at 3 GiB");
        assertEquals((3L << 30) / 65536, above4g(), "the other 3 GiB above 4 GiB");
        assertEquals(0x00, read(CMOS_MEMORY_ABOVE_4G_LO));
        assertEquals(0xC0, read(CMOS_MEMORY_ABOVE_4G_MID));
        assertEquals(0x00, read(CMOS_MEMORY_ABOVE_4G_HI));
    }

    private int word(int lo) {
        return read(lo) | read(lo + 1) << 8;
    }

    private long above4g() {
        return read(CMOS_MEMORY_ABOVE_4G_LO) | read(CMOS_MEMORY_ABOVE_4G_MID) << 8 | (long) read(CMOS_MEMORY_ABOVE_4G_HI) << 16;
    }

    @Test
    void cmosSurvivesResetButInterruptEnablesDoNot() {
        write(CMOS_GUESTKIT_REBOOT_COUNTER, 3);
        write(0x40, 0xAB);
        write(REG_B, B_24_HOUR | B_UIE | B_PIE);
        write(HOURS, 0x05);
        rtc.reset();
        assertEquals(3, read(CMOS_GUESTKIT_REBOOT_COUNTER));
        assertEquals(0xAB, read(0x40));
        assertEquals(B_24_HOUR, read(REG_B));
        assertEquals(0x05, read(HOURS), "the battery-backed clock keeps the guest's time");
        assertEquals(640, word(CMOS_BASE_MEMORY_LO));
    }

    @Test
    void nmiDisableBitIsNotPartOfTheIndex() {
        ports.write(0x70, 1, NMI_DISABLE | 0x40);
        ports.write(0x71, 1, 0x5A);
        assertTrue(rtc.nmiDisabled());
        assertEquals(0x5A, read(0x40));
        assertFalse(rtc.nmiDisabled());
        assertEquals(0xFF, ports.read(0x70, 1));
    }

    @Test
    void updateEndedInterrupt() {
        write(REG_B, B_24_HOUR | B_UIE);
        assertFalse(irq.level());
        clock.addAndGet(NS);
        rtc.tick(); // what the timer thread does at the second boundary
        assertTrue(irq.level());
        assertEquals(C_IRQF | C_UF, read(REG_C) & (C_IRQF | C_UF));
        assertFalse(irq.level(), "reading C lowers IRQ 8");
        assertEquals(0, read(REG_C));
    }

    @Test
    void flagsWithoutEnablesRaiseNoIrq() {
        clock.addAndGet(NS);
        int c = read(REG_C);
        assertEquals(C_UF | C_PF, c, "UF and PF are set whatever the enables");
        assertFalse(irq.level());
    }

    @Test
    void periodicInterruptAtRateFromRegisterA() {
        write(REG_A, A_DV_32KHZ | 0x0F); // 2 Hz
        write(REG_B, B_24_HOUR | B_PIE);
        read(REG_C);
        clock.addAndGet(NS / 4);
        rtc.tick();
        // T0 is 0.25 s into a second: the next 500 ms period boundary is at 0.5 s.
        assertTrue(irq.level());
        assertEquals(C_IRQF | C_PF, read(REG_C) & (C_IRQF | C_PF));
        clock.addAndGet(NS / 4);
        rtc.tick();
        assertFalse(irq.level(), "not yet the next period");
    }

    @Test
    void alarmInterrupt() {
        write(SECONDS_ALARM, 0x10);
        write(MINUTES_ALARM, ALARM_DONT_CARE);
        write(HOURS_ALARM, ALARM_DONT_CARE);
        write(REG_B, B_24_HOUR | B_AIE);
        read(REG_C);
        clock.addAndGet(2 * NS); // :09
        rtc.tick();
        assertFalse(irq.level());
        clock.addAndGet(2 * NS); // :11, passing :10
        rtc.tick();
        assertTrue(irq.level());
        assertEquals(C_IRQF | C_AF, read(REG_C) & (C_IRQF | C_AF));
    }

    @Test
    void timerThreadDeliversUpdateInterrupts() throws Exception {
        Rtc real = new Rtc(MemoryLayout.forRam(64L << 20), 1, irq);
        Bus p = new Bus("p");
        real.attach(p);
        real.start();
        try {
            p.write(0x70, 1, REG_B);
            p.write(0x71, 1, B_24_HOUR | B_UIE);
            long deadline = System.nanoTime() + 3 * NS;
            while (!irq.level() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(irq.level(), "IRQ 8 within a second or so");
        } finally {
            real.stop();
        }
    }

    @Test
    void hostileAccessesNeverThrow() {
        for (int reg = 0; reg < 256; reg++) {
            for (int v : new int[] {0, 0xFF, 0x99, 0xC0}) {
                write(reg, v);
                read(reg);
            }
        }
        ports.write(0x70, 4, -1L);
        ports.read(0x70, 4);
    }
}
