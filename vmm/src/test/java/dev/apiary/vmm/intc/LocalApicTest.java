package dev.apiary.vmm.intc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.x86.GuestClock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The local APIC driven as Linux and the guest kit drive it: MMIO register writes, MSRs, poll(now). */
class LocalApicTest {
    private static final long MS = 1_000_000;

    private final GuestClock clock = new GuestClock();
    /** Synthetic host time, a little after the clock's epoch (the TSC is positive). */
    private final AtomicLong now = new AtomicLong(System.nanoTime() + 10 * MS);
    private final ApicBus bus = new ApicBus();
    private final List<Integer> levelEois = new ArrayList<>();
    private LocalApic bsp;
    private LocalApic ap;
    private final RecordingSignals bspCpu = new RecordingSignals();
    private final RecordingSignals apCpu = new RecordingSignals();

    @BeforeEach
    void setUp() {
        bsp = new LocalApic(0, true, clock, bus, now::get);
        ap = new LocalApic(1, false, clock, bus, now::get);
        bsp.connect(bspCpu);
        ap.connect(apCpu);
        bus.onLevelEoi(levelEois::add);
    }

    private static int reg(LocalApic a, int offset) {
        return (int) a.read(offset, 4);
    }

    private static void set(LocalApic a, int offset, int value) {
        a.write(offset, 4, value & 0xFFFF_FFFFL);
    }

    private static void enable(LocalApic a) {
        set(a, 0xF0, 0x1FF);
    }

    private static boolean bit(LocalApic a, int base, int vector) {
        return (reg(a, base + (vector >> 5) * 0x10) & (1 << (vector & 31))) != 0;
    }

    private void fixed(int dest, int vector, boolean level) {
        bus.deliver(new InterruptMessage(dest, false, DeliveryMode.FIXED, vector, level));
    }

    @Test
    void powerOnState() {
        assertEquals(0, reg(bsp, 0x20));
        assertEquals(1 << 24, reg(ap, 0x20));
        assertEquals(0x0005_0014, reg(bsp, 0x30));
        assertEquals(0xFF, reg(bsp, 0xF0), "software-disabled, spurious vector 0xFF");
        assertEquals(0xFFFF_FFFF, reg(bsp, 0xE0));
        for (int lvt = 0x320; lvt <= 0x370; lvt += 0x10) {
            assertEquals(0x10000, reg(bsp, lvt), "LVT 0x" + Integer.toHexString(lvt) + " masked");
        }
        assertEquals(0xFEE0_0900L, bsp.apicBase(), "enabled, BSP");
        assertEquals(0xFEE0_0800L, ap.apicBase());
        assertFalse(bsp.hasInterrupt());
        assertEquals(-1, bsp.acknowledge());
    }

    @Test
    void priorityClassesAndPpr() {
        enable(bsp);
        fixed(0, 0x31, false);
        fixed(0, 0x52, false);
        assertTrue(bsp.hasInterrupt());
        assertTrue(bspCpu.interruptPending > 0, "the vCPU was woken");
        assertTrue(bit(bsp, 0x200, 0x31) && bit(bsp, 0x200, 0x52));
        assertEquals(0x52, bsp.acknowledge());
        assertTrue(bit(bsp, 0x100, 0x52), "in service");
        assertEquals(0x50, reg(bsp, 0xA0), "PPR takes the in-service class");
        assertFalse(bsp.hasInterrupt(), "0x31 is below the in-service class");
        fixed(0, 0x55, false);
        assertFalse(bsp.hasInterrupt(), "same class as in service: waits");
        fixed(0, 0x61, false);
        assertTrue(bsp.hasInterrupt(), "higher class nests");
        assertEquals(0x61, bsp.acknowledge());
        set(bsp, 0xB0, 0);
        set(bsp, 0xB0, 0);
        assertFalse(bit(bsp, 0x100, 0x52), "two EOIs retire 0x61 then 0x52");
        assertEquals(0x55, bsp.acknowledge());
        set(bsp, 0xB0, 0);

        set(bsp, 0x80, 0x40);
        assertEquals(0x40, reg(bsp, 0xA0), "PPR is the TPR with nothing in service");
        assertFalse(bsp.hasInterrupt(), "0x31 is masked by the TPR");
        assertEquals(0xFF, bsp.acknowledge(), "an acknowledge that finds only masked vectors gets the spurious vector");
        assertTrue(bit(bsp, 0x200, 0x31), "still pending");
        assertEquals(4, bsp.cr8());
        bsp.setCr8(2);
        assertEquals(0x20, reg(bsp, 0x80));
        assertTrue(bsp.hasInterrupt());
        assertEquals(0x31, bsp.acknowledge());
    }

    @Test
    void eoiOfLevelTriggeredVectorIsBroadcast() {
        enable(bsp);
        fixed(0, 0x40, true);
        fixed(0, 0x41, false);
        assertTrue(bit(bsp, 0x180, 0x40), "TMR set for the level-triggered vector");
        assertFalse(bit(bsp, 0x180, 0x41));
        assertEquals(0x41, bsp.acknowledge());
        set(bsp, 0xB0, 0);
        assertEquals(List.of(), levelEois, "edge: no broadcast");
        assertEquals(0x40, bsp.acknowledge());
        set(bsp, 0xB0, 0);
        assertEquals(List.of(0x40), levelEois);
        set(bsp, 0xB0, 0);
        assertEquals(List.of(0x40), levelEois, "an EOI with nothing in service does nothing");
    }

    @Test
    void softwareDisabledApicTakesNoFixedInterruptsButInitAndStartup() {
        fixed(1, 0x40, false);
        assertFalse(ap.hasInterrupt());
        set(bsp, 0x310, 1 << 24);
        set(bsp, 0x300, 0x4500);
        set(bsp, 0x300, 0x4698);
        assertEquals(1, apCpu.inits);
        assertEquals(List.of(0x98), apCpu.startups);
    }

    @Test
    void errorStatusIsWrittenThenRead() {
        enable(bsp);
        fixed(0, 0x05, false);
        assertFalse(bsp.hasInterrupt(), "vectors below 16 are refused");
        assertEquals(0, reg(bsp, 0x280), "errors show only after a write to the ESR");
        set(bsp, 0x280, 0);
        assertEquals(0x40, reg(bsp, 0x280), "receive illegal vector");
        set(bsp, 0x280, 0);
        assertEquals(0, reg(bsp, 0x280));

        set(bsp, 0x300, 0x4003); // fixed IPI, vector 3
        reg(bsp, 0x2F0); // CMCI LVT: not implemented, an illegal register
        set(bsp, 0x280, 0);
        assertEquals(0x20 | 0x80, reg(bsp, 0x280), "send illegal vector, illegal register address");
    }

    @Test
    void errorLvtInterrupts() {
        enable(bsp);
        set(bsp, 0x370, 0xFE);
        fixed(0, 0x02, false);
        assertEquals(0xFE, bsp.acknowledge());
    }

    @Test
    void oneShotTimer() {
        enable(bsp);
        long t0 = now.get();
        set(bsp, 0x3E0, 0x3); // divide by 16
        set(bsp, 0x320, 0xEC); // one-shot, vector 0xEC
        set(bsp, 0x380, 62500); // the guest kit's 1 ms at a 1 GHz bus
        assertEquals(t0 + MS, bsp.poll(t0));
        now.set(t0 + MS / 2);
        assertEquals(31250, reg(bsp, 0x390));
        assertEquals(t0 + MS, bsp.poll(now.get()));
        assertFalse(bsp.hasInterrupt());
        now.set(t0 + MS);
        assertEquals(Long.MAX_VALUE, bsp.poll(now.get()), "one-shot: nothing more armed");
        assertTrue(bsp.hasInterrupt());
        assertEquals(0xEC, bsp.acknowledge());
        assertEquals(0, reg(bsp, 0x390));
        assertEquals(62500, reg(bsp, 0x380));
    }

    @Test
    void periodicTimerCoalescesLatePolls() {
        enable(bsp);
        long t0 = now.get();
        set(bsp, 0x3E0, 0x3);
        set(bsp, 0x320, 0x20000 | 0xEC);
        set(bsp, 0x380, 62500);
        assertEquals(t0 + MS, bsp.poll(t0));
        assertEquals(t0 + 2 * MS, bsp.poll(t0 + MS));
        assertEquals(0xEC, bsp.acknowledge());
        set(bsp, 0xB0, 0);
        assertEquals(t0 + 6 * MS, bsp.poll(t0 + 5 * MS + MS / 2), "four periods late: one interrupt, next on the grid");
        assertEquals(0xEC, bsp.acknowledge());
        assertEquals(-1, bsp.acknowledge());
        now.set(t0 + 5 * MS + MS / 4);
        assertEquals(62500 - 62500 / 4, reg(bsp, 0x390));

        set(bsp, 0x320, 0x30000 | 0xEC); // masked: keeps counting, no interrupt
        set(bsp, 0xB0, 0);
        assertEquals(t0 + 7 * MS, bsp.poll(t0 + 6 * MS));
        assertFalse(bsp.hasInterrupt());
        set(bsp, 0x380, 0);
        assertEquals(Long.MAX_VALUE, bsp.poll(t0 + 7 * MS), "initial count 0 stops the timer");
    }

    @Test
    void periodicTimerHasAFloor() {
        enable(bsp);
        long t0 = now.get();
        set(bsp, 0x3E0, 0xB); // divide by 1
        set(bsp, 0x320, 0x20000 | 0xEC);
        set(bsp, 0x380, 10);
        assertEquals(t0 + LocalApic.MIN_PERIOD_NANOS, bsp.poll(t0));
    }

    @Test
    void tscDeadlineTimer() {
        enable(bsp);
        long t0 = now.get();
        bsp.setTscDeadline(clock.toTsc(t0) + 5000);
        assertEquals(0, bsp.tscDeadline(), "ignored outside TSC-deadline mode");
        set(bsp, 0x320, 0x40000 | 0xEF);
        set(bsp, 0x380, 1000);
        assertEquals(0, reg(bsp, 0x380), "the initial count is ignored in TSC-deadline mode");
        long deadline = clock.toTsc(t0) + 5000;
        bsp.setTscDeadline(deadline);
        assertEquals(deadline, bsp.tscDeadline());
        assertEquals(t0 + 5000, bsp.poll(t0));
        assertFalse(bsp.hasInterrupt());
        assertEquals(Long.MAX_VALUE, bsp.poll(t0 + 5000));
        assertEquals(0xEF, bsp.acknowledge());
        assertEquals(0, bsp.tscDeadline(), "cleared when it fires");

        bsp.setTscDeadline(clock.toTsc(t0) - 1);
        assertEquals(t0, bsp.poll(t0 - 1), "a deadline in the past fires at the next poll");
        bsp.setTscDeadline(clock.toTsc(t0) + 100);
        set(bsp, 0x320, 0xEF); // back to one-shot: disarms
        assertEquals(Long.MAX_VALUE, bsp.poll(t0 + 1000));
        assertEquals(0, bsp.tscDeadline());
        bsp.setTscDeadline(-1);
        assertEquals(Long.MAX_VALUE, bsp.poll(t0 + 1000), "a deadline beyond 2^63 never comes");
    }

    @Test
    void icrInitStartupFixedNmi() {
        enable(ap);
        set(bsp, 0x310, 0x01 << 24);
        set(bsp, 0x300, 0xC500); // INIT, level assert (as Linux)
        assertEquals(1, apCpu.inits);
        set(bsp, 0x300, 0x8500); // INIT level de-assert: ignored
        assertEquals(1, apCpu.inits);
        assertEquals(0xFF, reg(ap, 0xF0), "INIT returned the AP's APIC to its reset state");
        set(bsp, 0x300, 0x0609);
        assertEquals(List.of(0x09), apCpu.startups);
        assertEquals(0x0609, reg(bsp, 0x300), "delivery status reads idle");
        assertEquals(0x01 << 24, reg(bsp, 0x310));
        enable(ap);
        set(bsp, 0x300, 0x0030);
        assertEquals(0x30, ap.acknowledge());
        set(bsp, 0x300, 0x0400);
        assertEquals(1, apCpu.nmis);
        assertEquals(0, bspCpu.nmis);
    }

    @Test
    void icrShorthands() {
        enable(bsp);
        enable(ap);
        set(bsp, 0x310, 0x07 << 24); // ignored with a shorthand
        set(bsp, 0x300, 0x40000 | 0x41); // self
        assertTrue(bit(bsp, 0x200, 0x41));
        assertFalse(ap.hasInterrupt());
        set(bsp, 0x300, 0xC0000 | 0x42); // all excluding self
        assertTrue(bit(ap, 0x200, 0x42));
        assertFalse(bit(bsp, 0x200, 0x42));
        set(ap, 0x300, 0x80000 | 0x43); // all including self
        assertTrue(bit(bsp, 0x200, 0x43) && bit(ap, 0x200, 0x43));
        set(bsp, 0x310, 0xFF << 24);
        set(bsp, 0x300, 0x44); // physical broadcast
        assertTrue(bit(bsp, 0x200, 0x44) && bit(ap, 0x200, 0x44));
    }

    @Test
    void logicalDestinationsFlatAndCluster() {
        enable(bsp);
        enable(ap);
        set(bsp, 0xD0, 0x01 << 24);
        set(ap, 0xD0, 0x02 << 24);
        set(bsp, 0x310, 0x02 << 24);
        set(bsp, 0x300, 0x800 | 0x50); // logical, flat
        assertTrue(bit(ap, 0x200, 0x50));
        assertFalse(bit(bsp, 0x200, 0x50));
        set(bsp, 0x310, 0x03 << 24);
        set(bsp, 0x300, 0x800 | 0x51);
        assertTrue(bit(bsp, 0x200, 0x51) && bit(ap, 0x200, 0x51));

        for (LocalApic a : List.of(bsp, ap)) {
            set(a, 0xE0, 0x0FFF_FFFF); // cluster model
        }
        assertEquals(0x0FFF_FFFF, reg(bsp, 0xE0));
        set(bsp, 0xD0, 0x11 << 24); // cluster 1, member bit 0
        set(ap, 0xD0, 0x21 << 24); // cluster 2, member bit 0
        set(bsp, 0x310, 0x21 << 24);
        set(bsp, 0x300, 0x800 | 0x52);
        assertTrue(bit(ap, 0x200, 0x52));
        assertFalse(bit(bsp, 0x200, 0x52), "other cluster");
        set(bsp, 0x310, 0x12 << 24);
        set(bsp, 0x300, 0x800 | 0x53);
        assertFalse(bit(bsp, 0x200, 0x53) || bit(ap, 0x200, 0x53), "member bit not set");
    }

    @Test
    void lowestPriorityGoesToOneTarget() {
        enable(bsp);
        enable(ap);
        set(bsp, 0x80, 0x20);
        bus.deliver(new InterruptMessage(0xFF, false, DeliveryMode.LOWEST_PRIORITY, 0x60, false));
        assertTrue(bit(ap, 0x200, 0x60), "the lower task priority wins");
        assertFalse(bit(bsp, 0x200, 0x60));
        set(bsp, 0x80, 0);
        bus.deliver(new InterruptMessage(0xFF, false, DeliveryMode.LOWEST_PRIORITY, 0x61, false));
        assertTrue(bit(ap, 0x200, 0x61) ^ bit(bsp, 0x200, 0x61), "exactly one");
    }

    @Test
    void apicBaseMsr() {
        enable(bsp);
        assertFalse(bsp.setApicBase(0xFEE0_0000L | (1 << 11) | (1 << 10)), "no x2APIC");
        assertFalse(bsp.setApicBase(0xFEE0_0001L | (1 << 11)), "reserved bit");
        assertTrue(bsp.setApicBase(0xFEE0_0000L));
        assertEquals(0xFEE0_0100L, bsp.apicBase(), "disabled, still the BSP");
        assertEquals(0xFFFF_FFFFL, bsp.read(0x30, 4), "a disabled APIC's page does not decode");
        fixed(0, 0x40, false);
        assertFalse(bsp.hasInterrupt(), "a disabled APIC takes no messages");
        assertTrue(bsp.setApicBase(0xFEE0_0800L));
        assertEquals(0xFF, reg(bsp, 0xF0), "re-enabled in its reset state");
        assertEquals(0xFEE0_0000L, bsp.base());
    }

    @Test
    void lintPinsInFixedAndNmiModes() {
        enable(bsp);
        set(bsp, 0x350, 0x38); // LINT0 fixed, vector 0x38
        set(bsp, 0x360, 0x400); // LINT1 NMI
        bsp.lint0().set(true);
        assertEquals(0x38, bsp.acknowledge());
        bsp.lint1().pulse();
        assertEquals(1, bspCpu.nmis);
        set(bsp, 0x360, 0x10400);
        bsp.lint1().pulse();
        assertEquals(1, bspCpu.nmis, "masked");
    }

    @Test
    void registerAccessesOfOtherSizesNeverThrow() {
        assertEquals(0x14, bsp.read(0x30, 1));
        assertEquals(0x05, bsp.read(0x32, 1));
        assertEquals(0, bsp.read(0x34, 4));
        assertEquals(0xFFL, bsp.read(0x1000, 1));
        assertEquals(-1L, bsp.read(-8, 8));
        bsp.write(0x81, 1, 0xFF);
        bsp.write(0x2000, 4, 1);
        assertEquals(0, reg(bsp, 0x80));
        for (int off = 0; off < 0x1000; off += 4) {
            bsp.read(off, 4);
        }
    }
}
