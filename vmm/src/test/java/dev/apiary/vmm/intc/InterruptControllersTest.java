package dev.apiary.vmm.intc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.x86.GuestClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The assembled controllers with the PC wiring the MADT and _PRT describe. */
class InterruptControllersTest {
    private final Bus ports = new Bus("ports");
    private final Bus mmio = new Bus("mmio");
    private InterruptControllers intc;
    private final RecordingSignals cpu0 = new RecordingSignals();
    private final RecordingSignals cpu1 = new RecordingSignals();

    @BeforeEach
    void setUp() {
        intc = new InterruptControllers(2, new GuestClock());
        intc.attach(ports, mmio);
        intc.lapic(0).connect(cpu0);
        intc.lapic(1).connect(cpu1);
    }

    private void initPic() {
        int[][] seq = {{0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04}, {0x21, 0x01}, {0xA0, 0x11}, {0xA1, 0x28},
                {0xA1, 0x02}, {0xA1, 0x01}, {0x21, 0x00}, {0xA1, 0x00}};
        for (int[] w : seq) {
            ports.write(w[0], 1, w[1]);
        }
    }

    private void ioapic(int reg, int value) {
        mmio.write(0xFEC0_0000L, 4, reg);
        mmio.write(0xFEC0_0010L, 4, value & 0xFFFF_FFFFL);
    }

    private void route(int pin, int low, int apicId) {
        ioapic(0x11 + 2 * pin, apicId << 24);
        ioapic(0x10 + 2 * pin, low);
    }

    private void enableLapics() {
        for (int i = 0; i < intc.cpus(); i++) {
            intc.lapic(i).write(0xF0, 4, 0x1FF);
        }
    }

    @Test
    void extIntThroughLint0InVirtualWireMode() {
        initPic();
        intc.irq(1).set(true);
        assertFalse(intc.lapic(0).hasInterrupt(), "power-on: LINT0 masked");
        intc.virtualWire();
        assertTrue(intc.lapic(0).hasInterrupt());
        assertTrue(cpu0.interruptPending > 0, "the BSP was woken");
        assertFalse(intc.lapic(1).hasInterrupt(), "only the BSP's LINT0 is wired");
        assertEquals(0x21, intc.lapic(0).acknowledge(), "the vector comes from the PIC's INTA");
        assertFalse(intc.lapic(0).hasInterrupt());
        ports.write(0x20, 1, 0x20);
        intc.irq(1).set(false);
        intc.irq(8).pulse();
        assertEquals(0x28, intc.lapic(0).acknowledge());
    }

    @Test
    void extIntPassesPriorityAndIsMaskedByLvt() {
        initPic();
        enableLapics();
        intc.lapic(0).write(0x350, 4, 0x10700); // LINT0 ExtINT, masked
        intc.irq(4).set(true);
        assertFalse(intc.lapic(0).hasInterrupt());
        intc.lapic(0).write(0x80, 4, 0xF0); // the TPR does not hold back ExtINT
        intc.lapic(0).write(0x350, 4, 0x700);
        assertTrue(intc.lapic(0).hasInterrupt());
        assertEquals(0x24, intc.lapic(0).acknowledge());

        intc.lapic(0).write(0xF0, 4, 0xFF); // software disable masks the LVTs
        assertEquals(0x10700, intc.lapic(0).read(0x350, 4));
        intc.lapic(0).write(0x350, 4, 0x700);
        assertEquals(0x10700, intc.lapic(0).read(0x350, 4), "the mask cannot be cleared while disabled");
    }

    @Test
    void isaIrq0ReachesIoapicPin2AndThePic() {
        initPic();
        enableLapics();
        route(2, 0x30, 0);
        route(0, 0x31, 0);
        intc.irq(0).pulse();
        assertEquals(0x30, intc.lapic(0).acknowledge(), "IRQ 0 is GSI 2");
        assertFalse(intc.lapic(0).hasInterrupt(), "pin 0 is not IRQ 0");
        assertTrue(intc.pic().output(), "and the PIC saw it too");
    }

    @Test
    void isaIrqGoesToTheSamePin() {
        enableLapics();
        route(4, 0x34, 1);
        intc.irq(4).set(true);
        assertEquals(0x34, intc.lapic(1).acknowledge());
    }

    @Test
    void pciGsiIsActiveLowLevelAsThePrtSays() {
        enableLapics();
        route(16, (1 << 15) | (1 << 13) | 0x50, 0); // level, active low, as Linux programs a _PRT GSI
        assertFalse(intc.lapic(0).hasInterrupt(), "an idle PCI line is high");
        intc.irq(16).set(true);
        assertEquals(0x50, intc.lapic(0).acknowledge());
        intc.lapic(0).write(0xB0, 4, 0);
        assertEquals(0x50, intc.lapic(0).acknowledge(), "still asserted: sent again after the EOI");
        intc.irq(16).set(false);
        intc.lapic(0).write(0xB0, 4, 0);
        assertFalse(intc.lapic(0).hasInterrupt());
    }

    @Test
    void msiDecode() {
        enableLapics();
        intc.msi().signal(0xFEE0_1000L, 0x0041); // APIC ID 1, fixed, vector 0x41
        assertEquals(0x41, intc.lapic(1).acknowledge());
        assertFalse(intc.lapic(0).hasInterrupt());

        intc.lapic(0).write(0xD0, 4, 0x01L << 24);
        intc.lapic(1).write(0xD0, 4, 0x02L << 24);
        intc.msi().signal(0xFEE0_100CL, 0x0142); // logical destination 1 (RH, DM), lowest priority
        assertEquals(0x42, intc.lapic(0).acknowledge());

        intc.msi().signal(0xFEE0_0000L, 0x0400); // NMI
        assertEquals(1, cpu0.nmis);

        intc.msi().signal(0xFED0_0000L, 0x0043); // outside the MSI window
        intc.msi().signal(0x1_FEE0_0000L, 0x0043); // above 4 GiB
        intc.msi().signal(0xFEE0_0000L, 0x0343); // reserved delivery mode
        assertEquals(3, intc.msiRouter().dropped());
        assertFalse(intc.lapic(0).hasInterrupt() || intc.lapic(1).hasInterrupt());
    }

    @Test
    void resetReturnsEveryChipToPowerOn() {
        initPic();
        enableLapics();
        intc.virtualWire();
        route(4, 0x34, 0);
        intc.reset();
        assertEquals(0xFF, intc.lapic(0).read(0xF0, 4));
        assertEquals(0x10000, intc.lapic(0).read(0x350, 4));
        assertEquals(0xFF, ports.read(0x21, 1));
        mmio.write(0xFEC0_0000L, 4, 0x18);
        assertEquals(0x10000, mmio.read(0xFEC0_0010L, 4));
        assertEquals(2 << 24, ioapicId());
    }

    private long ioapicId() {
        mmio.write(0xFEC0_0000L, 4, 0);
        return mmio.read(0xFEC0_0010L, 4);
    }

    @Test
    void irq2IsTheCascadeAndDrivesNothing() {
        initPic();
        enableLapics();
        route(2, 0x30, 0);
        intc.irq(2).set(true);
        assertFalse(intc.lapic(0).hasInterrupt());
        assertFalse(intc.pic().output());
    }
}
