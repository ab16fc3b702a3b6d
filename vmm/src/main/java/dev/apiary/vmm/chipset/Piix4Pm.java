package dev.apiary.vmm.chipset;

import static dev.apiary.vmm.chipset.Piix4PmRegs.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.SystemControl;
import dev.apiary.vmm.pci.PciAddress;
import dev.apiary.vmm.pci.PciBus;
import dev.apiary.vmm.pci.PciFunction;
import java.lang.System.Logger.Level;
import java.util.function.LongSupplier;

/**
 * PIIX4 power management (82371AB function 3, 8086:7113) at 0:1.3: the ACPI fixed-hardware registers a guest
 * needs to keep time and to power off.
 *
 * <p>Emulated: PMBA fixed at 0xB000 with I/O space enabled (PMBA and PMREGMISC read-only: the machine maps
 * the block at 0xB000 whatever the guest writes, and the ACPI tables say so); PM1_STS (write 1 to clear) and
 * PM1_EN; PM1_CNT with SCI_EN (1 from reset: with no SMI command port the guest is always in ACPI mode),
 * SLP_TYP and SLP_EN — SLP_EN with SLP_TYP 0 is S5 and powers the machine off through
 * {@link SystemControl#requestPowerOff}; other sleep types (S1, S3, S4) are ignored and logged; PM_TMR,
 * 24 bits at 3.579545 MHz from the injected nanosecond clock; the SCI on ISA IRQ 9, level, high while
 * SCI_EN and an enabled PWRBTN, GBL or RTC status bit are set; {@link #pressPowerButton()}.
 *
 * <p>Not emulated: TMR_STS is set when PM1_STS is read after bit 23 of the timer changed, but no SCI is
 * raised for timer overflow (that would need a timer thread; Linux and Windows do not enable TMR_EN); GPE
 * blocks, SMBus, device monitors, throttling, and suspend/resume.
 */
public final class Piix4Pm implements Device {
    private static final System.Logger LOG = System.getLogger(Piix4Pm.class.getName());

    public static final int VENDOR_ID = 0x8086;
    public static final int DEVICE_ID = 0x7113;
    public static final int REVISION = 0x03;
    public static final PciAddress ADDRESS = new PciAddress(0, 1, 3);

    private final PciFunction function;
    private final InterruptLine sci;
    private final SystemControl system;
    private final LongSupplier clockNanos;
    private final long startNanos;
    private final IoHandler handler = new PmBlock();

    private int pm1Sts;
    private int pm1En;
    private int pm1Cnt;
    private long timerMsbPeriod;
    private boolean sciLevel;

    /**
     * @param sci    ISA IRQ 9
     * @param system where S5 goes
     */
    public Piix4Pm(InterruptLine sci, SystemControl system) {
        this(sci, system, System::nanoTime);
    }

    /** As above with the clock the PM timer counts from (nanoseconds, monotonic). */
    public Piix4Pm(InterruptLine sci, SystemControl system, LongSupplier clockNanos) {
        this.sci = sci;
        this.system = system;
        this.clockNanos = clockNanos;
        this.startNanos = clockNanos.getAsLong();
        this.function = PciFunction.builder(VENDOR_ID, DEVICE_ID)
                .classCode(0x06, 0x80, 0x00) // bridge, other
                .revision(REVISION)
                .subsystem(0x1AF4, 0x1100)
                .register(PMBA, 4, PM_BASE | 1, 0)
                .register(PMREGMISC, 1, PMREGMISC_PMIOSE, 0)
                .build();
        resetRegisters();
    }

    @Override
    public String name() {
        return ADDRESS.inventoryName("piix4-pm");
    }

    public PciFunction function() {
        return function;
    }

    /** The PM I/O block (map at {@link Piix4PmRegs#PM_BASE}, length {@link Piix4PmRegs#PM_BLOCK_LENGTH}). */
    public IoHandler ioHandler() {
        return handler;
    }

    /** Attaches the function at 0:1.3 and maps the PM block at 0xB000 on the port bus. */
    public void attach(PciBus pci, Bus portBus) {
        pci.attach(ADDRESS.slot(), ADDRESS.function(), function);
        portBus.register(PM_BASE, PM_BLOCK_LENGTH, name(), handler);
    }

    @Override
    public synchronized void reset() {
        function.reset();
        resetRegisters();
        sciLevel = false;
        sci.set(false);
    }

    private void resetRegisters() {
        pm1Sts = 0;
        pm1En = 0;
        pm1Cnt = SCI_EN;
        timerMsbPeriod = ticks() >>> 23;
    }

    /**
     * The fixed-feature power button (ACPI 6.4 §4.8.2.2.1): sets PWRBTN_STS and raises the SCI when the guest
     * enabled PWRBTN_EN; an ACPI guest then shuts down cleanly.
     */
    public synchronized void pressPowerButton() {
        pm1Sts |= PWRBTN_STS;
        updateSci();
    }

    /** PM_TMR now (24 bits). */
    public synchronized int timer() {
        return (int) (ticks() & PM_TIMER_MASK);
    }

    public synchronized int pm1Status() {
        return pm1Sts;
    }

    private long ticks() {
        long elapsed = clockNanos.getAsLong() - startNanos;
        // Split to avoid overflow: nanos * 3.58 MHz exceeds a long after about 43 minutes.
        return (elapsed / 1_000_000_000L) * PM_TIMER_HZ + (elapsed % 1_000_000_000L) * PM_TIMER_HZ / 1_000_000_000L;
    }

    private void updateSci() {
        boolean level = (pm1Cnt & SCI_EN) != 0 && (pm1Sts & pm1En & SCI_EVENTS) != 0;
        if (level != sciLevel) {
            sciLevel = level;
            sci.set(level);
        }
    }

    private int readByte(int offset, long ticks) {
        int word = switch (offset & ~1) {
            case PM1_STS -> {
                if ((ticks >>> 23) != timerMsbPeriod) {
                    pm1Sts |= TMR_STS; // bit 23 of the timer changed since TMR_STS was last cleared
                }
                yield pm1Sts;
            }
            case PM1_EN -> pm1En;
            case PM1_CNT -> pm1Cnt; // SLP_EN is write-only and reads 0
            case PM_TMR -> (int) (ticks & 0xFFFF);
            case PM_TMR + 2 -> (int) ((ticks >>> 16) & 0xFF);
            default -> 0;
        };
        return (word >>> (8 * (offset & 1))) & 0xFF;
    }

    private void writeByte(int offset, int value) {
        int shift = 8 * (offset & 1);
        int bits = value << shift;
        int keep = ~(0xFF << shift);
        switch (offset & ~1) {
            case PM1_STS -> {
                int cleared = bits & PM1_STS_WRITE_CLEAR;
                pm1Sts &= ~cleared;
                if ((cleared & TMR_STS) != 0) {
                    timerMsbPeriod = ticks() >>> 23;
                }
            }
            case PM1_EN -> pm1En = (pm1En & keep) | (bits & PM1_EN_WRITABLE);
            case PM1_CNT -> {
                pm1Cnt = (pm1Cnt & keep) | (bits & PM1_CNT_WRITABLE);
                if ((bits & SLP_EN) != 0) {
                    sleep((pm1Cnt & SLP_TYP_MASK) >>> SLP_TYP_SHIFT);
                }
            }
            default -> {
                // PM_TMR is read-only; the rest of the block is not emulated.
            }
        }
    }

    private void sleep(int slpTyp) {
        if (slpTyp == SLP_TYP_S5) {
            LOG.log(Level.INFO, "{0}: guest entered S5", name());
            system.requestPowerOff("ACPI S5 (PM1a_CNT.SLP_EN)");
        } else {
            LOG.log(Level.WARNING, "{0}: sleep type {1} requested; only S5 is supported, ignored", name(), slpTyp);
        }
    }

    private final class PmBlock implements IoHandler {
        @Override
        public long read(long offset, int size) {
            synchronized (Piix4Pm.this) {
                long ticks = ticks();
                long value = 0;
                for (int i = 0; i < Math.min(size, 4); i++) {
                    long at = offset + i;
                    int b = at >= 0 && at < PM_BLOCK_LENGTH ? readByte((int) at, ticks) : 0xFF;
                    value |= (long) b << (8 * i);
                }
                return value;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            synchronized (Piix4Pm.this) {
                for (int i = 0; i < Math.min(size, 4); i++) {
                    long at = offset + i;
                    if (at >= 0 && at < PM_BLOCK_LENGTH) {
                        writeByte((int) at, (int) (value >>> (8 * i)) & 0xFF);
                    }
                }
                updateSci();
            }
        }
    }
}
