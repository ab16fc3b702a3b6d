package dev.apiary.vmm.intc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.x86.GuestClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The IOAPIC programmed through IOREGSEL/IOWIN as Linux's io_apic.c does, delivering to a real LAPIC. */
class IoApicTest {
    private static final int LEVEL = 1 << 15;
    private static final int ACTIVE_LOW = 1 << 13;
    private static final int MASKED = 1 << 16;
    private static final long REMOTE_IRR = 1L << 14;

    private final ApicBus bus = new ApicBus();
    private LocalApic lapic;
    private IoApic ioapic;

    @BeforeEach
    void setUp() {
        lapic = new LocalApic(0, true, new GuestClock(), bus);
        lapic.write(0xF0, 4, 0x1FF);
        ioapic = new IoApic(1, bus);
    }

    private int read(int reg) {
        ioapic.write(0x00, 4, reg);
        return (int) ioapic.read(0x10, 4);
    }

    private void write(int reg, int value) {
        ioapic.write(0x00, 4, reg);
        ioapic.write(0x10, 4, value & 0xFFFF_FFFFL);
    }

    private void route(int pin, int low, int destination) {
        write(0x11 + 2 * pin, destination << 24);
        write(0x10 + 2 * pin, low);
    }

    private void eoi() {
        lapic.write(0xB0, 4, 0);
    }

    @Test
    void identificationRegisters() {
        assertEquals(1 << 24, read(0x00));
        assertEquals(0x0017_0020, read(0x01), "version 0x20, 24 entries");
        assertEquals(1 << 24, read(0x02));
        write(0x00, 0x0F00_0000);
        assertEquals(0x0F00_0000, read(0x00));
        assertEquals(0x10000, read(0x10 + 2 * 23), "entries reset masked");
        assertEquals(0x3E, ioapic.read(0x00, 4), "IOREGSEL reads back");
        write(0x10, 0xFFFF_FFFF);
        assertEquals(0x1AFFF, read(0x10), "delivery status and remote IRR are read-only");
        assertEquals(0, read(0x60), "unimplemented register");
    }

    @Test
    void edgeTriggeredDeliversOnRisingEdges() {
        route(4, 0x34, 0);
        ioapic.pin(4).set(true);
        assertEquals(0x34, lapic.acknowledge());
        eoi();
        ioapic.pin(4).set(true);
        assertFalse(lapic.hasInterrupt(), "no edge, no interrupt");
        ioapic.pin(4).pulse();
        assertFalse(lapic.hasInterrupt(), "falling then... the pulse's rise was from high: none");
        ioapic.pin(4).set(true);
        assertEquals(0x34, lapic.acknowledge());
        eoi();
        assertEquals(0, ioapic.entry(4) & REMOTE_IRR);
    }

    @Test
    void levelTriggeredUsesRemoteIrrAndRedeliversAtEoi() {
        route(9, LEVEL | 0x39, 0);
        ioapic.pin(9).set(true);
        assertTrue(lapic.hasInterrupt());
        assertTrue((ioapic.entry(9) & REMOTE_IRR) != 0);
        assertEquals(0x39, lapic.acknowledge());
        ioapic.pin(9).set(true);
        assertFalse(lapic.hasInterrupt(), "remote IRR holds it until the EOI");
        eoi();
        assertTrue(lapic.hasInterrupt(), "still asserted at the EOI: sent again");
        assertEquals(0x39, lapic.acknowledge());
        ioapic.pin(9).set(false);
        eoi();
        assertFalse(lapic.hasInterrupt());
        assertEquals(0, ioapic.entry(9) & REMOTE_IRR);
    }

    @Test
    void eoiRegisterClearsRemoteIrr() {
        route(10, LEVEL | 0x3A, 0);
        ioapic.pin(10).set(true);
        assertEquals(0x3A, lapic.acknowledge());
        ioapic.write(0x40, 4, 0x3A);
        assertTrue((lapic.read(0x210, 4) & (1 << (0x3A - 32))) != 0, "redelivered through the EOI register");
        assertTrue((ioapic.entry(10) & REMOTE_IRR) != 0);
    }

    @Test
    void maskedLevelIsDeliveredWhenUnmaskedButMaskedEdgeIsLost() {
        route(11, MASKED | LEVEL | 0x3B, 0);
        ioapic.pin(11).set(true);
        assertFalse(lapic.hasInterrupt());
        write(0x10 + 2 * 11, LEVEL | 0x3B);
        assertEquals(0x3B, lapic.acknowledge());

        route(3, MASKED | 0x33, 0);
        ioapic.pin(3).set(true);
        write(0x10 + 2 * 3, 0x33);
        assertFalse(lapic.hasInterrupt(), "the edge came while masked");
    }

    @Test
    void activeLowInvertsTheInput() {
        route(16, LEVEL | ACTIVE_LOW | 0x50, 0);
        assertTrue(lapic.hasInterrupt(), "an active-low pin at 0 V is asserted");
        assertEquals(0x50, lapic.acknowledge());
        ioapic.pin(16).set(true);
        eoi();
        assertFalse(lapic.hasInterrupt(), "high is idle");
        ioapic.pin(16).set(false);
        assertEquals(0x50, lapic.acknowledge());
    }

    @Test
    void destinationSelectsTheLapic() {
        LocalApic other = new LocalApic(1, false, new GuestClock(), bus);
        other.write(0xF0, 4, 0x1FF);
        route(5, 0x35, 1);
        ioapic.pin(5).set(true);
        assertFalse(lapic.hasInterrupt());
        assertEquals(0x35, other.acknowledge());
        route(6, LEVEL | 0x36, 7);
        ioapic.pin(6).set(true);
        assertEquals(0, ioapic.entry(6) & REMOTE_IRR, "nobody accepted: no remote IRR to wait on");
    }

    @Test
    void resetMasksEverythingAndKeepsPinLevels() {
        route(4, 0x34, 0);
        ioapic.reset();
        assertEquals(0x10000, read(0x18));
        ioapic.pin(4).set(true);
        assertFalse(lapic.hasInterrupt());
    }
}
