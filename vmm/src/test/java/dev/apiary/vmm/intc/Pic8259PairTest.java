package dev.apiary.vmm.intc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.pci.RecordingInterruptLine;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The 8259 pair on the port bus, initialized as Linux's init_8259A does. */
class Pic8259PairTest {
    private final Bus ports = new Bus("ports");
    private final Pic8259Pair pic = new Pic8259Pair();
    private final RecordingInterruptLine intr = new RecordingInterruptLine();

    @BeforeEach
    void setUp() {
        pic.attach(ports);
        pic.connectOutput(intr);
    }

    private void out(int port, int value) {
        ports.write(port, 1, value);
    }

    private int in(int port) {
        return (int) ports.read(port, 1);
    }

    /** arch/x86/kernel/i8259.c init_8259A, then every line unmasked. */
    private void linuxInit(boolean autoEoi) {
        out(0x21, 0xFF);
        out(0xA1, 0xFF);
        out(0x20, 0x11); // ICW1: edge, cascade, ICW4
        out(0x21, 0x20); // ICW2: IRQ 0-7 at vectors 0x20-0x27
        out(0x21, 0x04); // ICW3: slave on IRQ 2
        out(0x21, autoEoi ? 0x03 : 0x01); // ICW4: 8086 mode
        out(0xA0, 0x11);
        out(0xA1, 0x28);
        out(0xA1, 0x02);
        out(0xA1, 0x01);
        out(0x21, 0x00);
        out(0xA1, 0x00);
    }

    private int isr(int commandPort) {
        out(commandPort, 0x0B); // OCW3: read ISR
        int v = in(commandPort);
        out(commandPort, 0x0A); // back to IRR
        return v;
    }

    @Test
    void powerOnMasksEverything() {
        assertEquals(0xFF, in(0x21));
        assertEquals(0xFF, in(0xA1));
        pic.input(1).pulse();
        assertFalse(intr.level());
    }

    @Test
    void masterInterruptAcknowledgeAndEoi() {
        linuxInit(false);
        assertEquals(0, in(0x21));
        pic.input(1).set(true);
        assertTrue(intr.level());
        assertEquals(0x02, in(0x20), "IRR");
        assertEquals(0x21, pic.acknowledge());
        assertFalse(intr.level(), "INT drops once the request is in service");
        assertEquals(0x02, isr(0x20));
        out(0x20, 0x20); // non-specific EOI
        assertEquals(0, isr(0x20));
        pic.input(1).set(false);
    }

    @Test
    void slaveInterruptThroughTheCascade() {
        linuxInit(false);
        pic.input(12).set(true);
        assertTrue(intr.level());
        assertEquals(0x2C, pic.acknowledge());
        assertEquals(0x04, isr(0x20), "the master has its cascade input in service");
        assertEquals(0x10, isr(0xA0));
        out(0xA0, 0x20);
        out(0x20, 0x20);
        assertEquals(0, isr(0x20) | isr(0xA0));
    }

    @Test
    void fullyNestedPriorities() {
        linuxInit(false);
        pic.input(3).set(true);
        assertEquals(0x23, pic.acknowledge());
        pic.input(5).set(true);
        assertFalse(intr.level(), "IRQ 5 waits for IRQ 3's EOI");
        pic.input(1).set(true);
        assertTrue(intr.level(), "IRQ 1 preempts");
        assertEquals(0x21, pic.acknowledge());
        out(0x20, 0x20); // retires IRQ 1, the highest in service
        assertEquals(0x08, isr(0x20));
        out(0x20, 0x63); // specific EOI of IRQ 3
        assertEquals(0x25, pic.acknowledge());
        out(0x20, 0x20);
    }

    @Test
    void maskingHoldsTheRequest() {
        linuxInit(false);
        out(0x21, 0x10);
        pic.input(4).set(true);
        assertFalse(intr.level());
        out(0x21, 0x00);
        assertTrue(intr.level());
        assertEquals(0x24, pic.acknowledge());
    }

    @Test
    void spuriousInterrupts() {
        linuxInit(false);
        out(0x4D0, 0x20); // IRQ 5 level-triggered
        pic.input(5).set(true);
        assertTrue(intr.level());
        pic.input(5).set(false);
        assertEquals(0x27, pic.acknowledge(), "the request went away: IRQ 7, nothing in service");
        assertEquals(0, isr(0x20));

        out(0x4D1, 0x04); // IRQ 10 level-triggered
        pic.input(10).set(true);
        assertTrue(intr.level());
        out(0xA1, 0x04); // masked on the slave after INTR rose: the cascade input falls before INTA
        assertEquals(0x27, pic.acknowledge(), "the master's IR2 went away: its spurious IRQ 7");
        assertEquals(0, isr(0x20) | isr(0xA0));
    }

    @Test
    void levelTriggeredInputsInterruptAgainAfterEoi() {
        linuxInit(false);
        out(0x4D1, 0x02); // IRQ 9 (the SCI) level
        assertEquals(0x02, in(0x4D1));
        pic.input(9).set(true);
        assertEquals(0x29, pic.acknowledge());
        out(0xA0, 0x20);
        out(0x20, 0x20);
        assertTrue(intr.level(), "still asserted");
        assertEquals(0x29, pic.acknowledge());
        pic.input(9).set(false);
        out(0xA0, 0x20);
        out(0x20, 0x20);
        assertFalse(intr.level());
    }

    @Test
    void elcrBitsThatMustStayEdge() {
        out(0x4D0, 0xFF);
        out(0x4D1, 0xFF);
        assertEquals(0xF8, in(0x4D0), "IRQ 0-2 are edge only");
        assertEquals(0xDE, in(0x4D1), "IRQ 8 and 13 are edge only");
    }

    @Test
    void autoEoiLeavesNothingInService() {
        linuxInit(true);
        pic.input(6).set(true);
        assertEquals(0x26, pic.acknowledge());
        assertEquals(0, isr(0x20));
    }

    @Test
    void pollCommand() {
        linuxInit(false);
        pic.input(3).set(true);
        out(0x20, 0x0C); // OCW3 poll
        assertEquals(0x83, in(0x20));
        assertFalse(intr.level());
        out(0x20, 0x0C);
        assertEquals(0x00, in(0x20), "nothing left to poll");
    }

    @Test
    void edgeInputNeedsANewEdgeAfterIcw1() {
        pic.input(4).set(true);
        linuxInit(false);
        assertFalse(intr.level(), "initialization reset the edge sense");
        pic.input(4).set(false);
        pic.input(4).set(true);
        assertTrue(intr.level());
    }

    @Test
    void resetReturnsToPowerOn() {
        linuxInit(false);
        pic.input(1).set(true);
        pic.reset();
        assertFalse(intr.level());
        assertEquals(0xFF, in(0x21));
        assertEquals(0, in(0x4D0));
    }
}
