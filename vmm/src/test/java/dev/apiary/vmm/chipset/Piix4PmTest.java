package dev.apiary.vmm.chipset;

import static dev.apiary.vmm.chipset.Piix4PmRegs.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.pci.PciBus;
import dev.apiary.vmm.pci.RecordingInterruptLine;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The PM block at 0xB000 driven as ACPICA drives it. */
class Piix4PmTest {
    private final AtomicLong nanos = new AtomicLong(5_000_000_000L);
    private final RecordingInterruptLine sci = new RecordingInterruptLine();
    private final RecordingSystemControl system = new RecordingSystemControl();
    private final Bus ports = new Bus("ports");
    private Piix4Pm pm;

    @BeforeEach
    void setUp() {
        pm = new Piix4Pm(sci, system, nanos::get);
        pm.attach(new PciBus(ports, new Bus("mmio"), g -> new RecordingInterruptLine(), (a, d) -> {}), ports);
    }

    private long in(int reg, int size) {
        return ports.read(PM_BASE + reg, size);
    }

    private void out(int reg, int size, long value) {
        ports.write(PM_BASE + reg, size, value);
    }

    @Test
    void timerRunsAt3579545Hz() {
        assertEquals(0, in(PM_TMR, 4));
        nanos.addAndGet(1_000_000L); // 1 ms
        assertEquals(3579, in(PM_TMR, 4));
        nanos.addAndGet(999_000_000L); // 1 s in all
        assertEquals(3_579_545, in(PM_TMR, 4));
        assertEquals(3_579_545 & 0xFFFF, in(PM_TMR, 2));
        assertEquals(0, in(PM_TMR, 4) >>> 24, "24-bit timer: the top byte reads 0");
    }

    @Test
    void timerWrapsAt24Bits() {
        // 2^24 ticks = 4.686975 s
        long wrapNanos = (1L << 24) * 1_000_000_000L / PM_TIMER_HZ;
        nanos.addAndGet(wrapNanos - 1_000);
        long before = in(PM_TMR, 4);
        assertTrue(before > 0xFF_F000, Long.toHexString(before));
        nanos.addAndGet(2_000);
        long after = in(PM_TMR, 4);
        assertTrue(after < 0x10, Long.toHexString(after));
        // And it keeps counting correctly after hours (no overflow in the arithmetic).
        nanos.addAndGet(10L * 3600 * 1_000_000_000L);
        java.math.BigInteger elapsed = java.math.BigInteger.valueOf(wrapNanos + 1_000 + 10L * 3600 * 1_000_000_000L);
        long ticks = elapsed.multiply(java.math.BigInteger.valueOf(PM_TIMER_HZ))
                .divide(java.math.BigInteger.valueOf(1_000_000_000L)).longValue();
        assertEquals(ticks & 0xFF_FFFF, in(PM_TMR, 4));
    }

    @Test
    void timerIsReadOnly() {
        nanos.addAndGet(1_000_000L);
        out(PM_TMR, 4, 0);
        assertEquals(3579, in(PM_TMR, 4));
    }

    @Test
    void s5PowersOff() {
        out(PM1_CNT, 2, SCI_EN | (SLP_TYP_S5 << SLP_TYP_SHIFT) | SLP_EN);
        assertEquals(1, system.powerOffs.size());
        assertEquals(0, in(PM1_CNT, 2) & SLP_EN, "SLP_EN is write-only");
    }

    @Test
    void otherSleepTypesAreIgnored() {
        out(PM1_CNT, 2, SCI_EN | (1 << SLP_TYP_SHIFT) | SLP_EN); // S3 in QEMU's tables
        out(PM1_CNT, 2, SCI_EN | (5 << SLP_TYP_SHIFT));
        assertTrue(system.powerOffs.isEmpty());
        assertEquals(SCI_EN | (5 << SLP_TYP_SHIFT), in(PM1_CNT, 2));
    }

    @Test
    void byteWritesToPm1CntHighByteAlsoSleep() {
        out(PM1_CNT + 1, 1, SLP_EN >>> 8);
        assertEquals(List.of("ACPI S5 (PM1a_CNT.SLP_EN)"), system.powerOffs);
    }

    @Test
    void powerButtonRaisesSciWhenEnabled() {
        assertEquals(SCI_EN, in(PM1_CNT, 2), "ACPI mode from reset");
        pm.pressPowerButton();
        assertFalse(sci.level(), "PWRBTN_EN clear");
        assertEquals(PWRBTN_STS, in(PM1_STS, 2) & PWRBTN_STS);
        out(PM1_EN, 2, PWRBTN_EN);
        assertTrue(sci.level(), "enabling with the status set raises SCI");
        assertEquals(PWRBTN_EN, in(PM1_EN, 2));
        out(PM1_STS, 2, PWRBTN_STS); // write 1 to clear
        assertFalse(sci.level());
        assertEquals(0, in(PM1_STS, 2) & PWRBTN_STS);
        pm.pressPowerButton();
        assertTrue(sci.level());
        out(PM1_STS, 2, 0); // writing 0 clears nothing
        assertTrue(sci.level());
    }

    @Test
    void sciEnGatesSci() {
        out(PM1_EN, 2, PWRBTN_EN);
        out(PM1_CNT, 2, 0);
        pm.pressPowerButton();
        assertFalse(sci.level());
        out(PM1_CNT, 2, SCI_EN);
        assertTrue(sci.level());
    }

    @Test
    void timerStatusWhenBit23Changes() {
        assertEquals(0, in(PM1_STS, 2) & TMR_STS);
        nanos.addAndGet(2_400_000_000L); // past 2^23 ticks (2.34 s)
        assertEquals(TMR_STS, in(PM1_STS, 2) & TMR_STS);
        out(PM1_STS, 2, TMR_STS);
        assertEquals(0, in(PM1_STS, 2) & TMR_STS);
        assertFalse(sci.level(), "no SCI for timer overflow");
    }

    @Test
    void dwordAccessToPm1Event() {
        pm.pressPowerButton();
        out(PM1_EN, 2, PWRBTN_EN);
        assertEquals(((long) PWRBTN_EN << 16) | PWRBTN_STS, in(PM1_STS, 4));
    }

    @Test
    void resetClearsEventsAndLowersSci() {
        out(PM1_EN, 2, PWRBTN_EN);
        pm.pressPowerButton();
        assertTrue(sci.level());
        pm.reset();
        assertFalse(sci.level());
        assertEquals(0, in(PM1_STS, 2) & PWRBTN_STS);
        assertEquals(0, in(PM1_EN, 2));
    }

    @Test
    void hostileAccessesNeverThrow() {
        for (int off = 0; off < PM_BLOCK_LENGTH; off++) {
            for (int size : new int[] {1, 2, 4, 8}) {
                out(off, size, 0xFFFF_FFFF_FFFF_DFFFL); // everything but SLP_EN
                in(off, size);
            }
        }
        pm.ioHandler().read(-5, 4);
        pm.ioHandler().write(1000, 4, -1);
    }
}
