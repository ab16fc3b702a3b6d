package dev.apiary.vmm.chipset;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.display.Keymap;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The 8042 with its keyboard and mouse, driven as Linux's i8042/atkbd/psmouse drivers do. */
class KeyboardControllerTest {
    private final Bus ports = new Bus("ports");
    private final RecordingSystemControl system = new RecordingSystemControl();
    private final boolean[] irq1 = new boolean[1];
    private final boolean[] irq12 = new boolean[1];
    private KeyboardController kbc;

    @BeforeEach
    void setUp() {
        kbc = new KeyboardController(system, l -> irq1[0] = l, l -> irq12[0] = l);
        kbc.attach(ports);
    }

    private List<Integer> drain() {
        List<Integer> out = new ArrayList<>();
        while ((ports.read(0x64, 1) & 1) != 0) {
            out.add((int) ports.read(0x60, 1));
        }
        return out;
    }

    private void kbdCommand(int... bytes) {
        for (int b : bytes) {
            ports.write(0x60, 1, b);
        }
    }

    private void auxCommand(int b) {
        ports.write(0x64, 1, 0xD4);
        ports.write(0x60, 1, b);
    }

    @Test
    void keysAreTranslatedSet1ByDefaultAndRaiseIrq1() {
        kbc.key(Keymap.key('a'), true);
        assertTrue(irq1[0]);
        assertFalse(irq12[0]);
        assertEquals(0x01, ports.read(0x64, 1) & 0x21, "OBF, not from the mouse");
        kbc.key(Keymap.key('a'), false);
        kbc.key(Keymap.key(0xFF51), true); // Left
        kbc.key(Keymap.key(0xFF51), false);
        assertEquals(List.of(0x1E, 0x9E, 0xE0, 0x4B, 0xE0, 0xCB), drain());
        assertFalse(irq1[0], "IRQ 1 falls when the buffer is empty");
    }

    @Test
    void everyByteOfAReplyIsANewEdgeOnIrq1() {
        // atkbd's GET ID: ACK, then two ID bytes, one interrupt each on an edge-triggered pin
        List<Boolean> levels = new ArrayList<>();
        Bus own = new Bus("ports");
        new KeyboardController(system, levels::add, l -> { }).attach(own);
        own.write(0x60, 1, 0xF2);
        List<Integer> got = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            got.add((int) own.read(0x60, 1));
        }
        assertEquals(List.of(0xFA, 0xAB, 0x41), got, "ACK and the translated MF2 ID");
        int rising = 0;
        boolean last = false;
        for (boolean l : levels) {
            rising += l && !last ? 1 : 0;
            last = l;
        }
        assertEquals(3, rising, "a rising edge per byte: " + levels);
        assertFalse(last, "low once the buffer is empty");
    }

    @Test
    void set2WithoutTranslation() {
        ports.write(0x64, 1, 0x60);
        ports.write(0x60, 1, 0x05); // interrupts + system flag, no translation
        kbc.key(Keymap.key('A'), true);
        kbc.key(Keymap.key('A'), false);
        kbc.key(Keymap.key(0xFFE4), true); // Control_R
        kbc.key(Keymap.key(0xFFE4), false);
        assertEquals(List.of(0x1C, 0xF0, 0x1C, 0xE0, 0x14, 0xE0, 0xF0, 0x14), drain());
    }

    @Test
    void interruptEnableAndPortDisable() {
        ports.write(0x64, 1, 0x60);
        ports.write(0x60, 1, 0x44); // translation, no interrupts
        kbc.key(Keymap.key('b'), true);
        assertFalse(irq1[0]);
        assertEquals(List.of(0x30), drain());
        ports.write(0x64, 1, 0xAD); // keyboard port off: keys are not sent
        kbc.key(Keymap.key('b'), true);
        assertEquals(List.of(), drain());
        ports.write(0x64, 1, 0xAE);
        ports.write(0x64, 1, 0x20);
        assertEquals(List.of(0x44), drain());
    }

    @Test
    void keyboardCommandsAsAtkbdProbes() {
        kbdCommand(0xF2);
        assertEquals(List.of(0xFA, 0xAB, 0x41), drain(), "identify, translated");
        kbdCommand(0xFF);
        assertEquals(List.of(0xFA, 0xAA), drain());
        kbdCommand(0xED, 0x07);
        assertEquals(List.of(0xFA, 0xFA), drain(), "LEDs and their argument");
        kbdCommand(0xF0, 0x00);
        assertEquals(List.of(0xFA, 0xFA, 2), drain(), "scan code set 2");
        kbdCommand(0xF5);
        kbc.key(Keymap.key('a'), true);
        assertEquals(List.of(0xFA), drain(), "scanning off: no key");
        kbdCommand(0xF4, 0xEE, 0x01);
        assertEquals(List.of(0xFA, 0xEE, 0xFE), drain(), "enable, echo, unknown command");
    }

    @Test
    void controllerCommands() {
        ports.write(0x64, 1, 0xAA);
        assertEquals(List.of(0x55), drain());
        ports.write(0x64, 1, 0xA9);
        assertEquals(List.of(0x00), drain());
        ports.write(0x64, 1, 0xD2);
        ports.write(0x60, 1, 0x99);
        ports.write(0x64, 1, 0xD3);
        ports.write(0x60, 1, 0x88);
        assertEquals(0x01, ports.read(0x64, 1) & 0x21);
        assertEquals(0x99, ports.read(0x60, 1));
        assertEquals(0x21, ports.read(0x64, 1) & 0x21, "the next byte is from the mouse");
        assertEquals(0x88, ports.read(0x60, 1));
        assertEquals(0x88, ports.read(0x60, 1), "an empty buffer reads the last byte again");
        ports.write(0x64, 1, 0xFE);
        assertEquals(List.of("keyboard controller"), system.resets);
    }

    @Test
    void mouseReportsMotionAndButtonsOnIrq12() {
        auxCommand(0xFF);
        assertEquals(List.of(0xFA, 0xAA, 0x00), drain());
        ports.write(0x64, 1, 0x60);
        ports.write(0x60, 1, 0x47); // keyboard + mouse interrupts
        kbc.pointer(0, 100, 100); // reporting off: only remembered
        assertEquals(List.of(), drain());
        auxCommand(0xF2);
        assertEquals(List.of(0xFA, 0x00), drain());
        auxCommand(0xF4);
        assertEquals(List.of(0xFA), drain());
        kbc.pointer(1, 103, 95); // left button, 3 right, 5 down
        assertTrue(irq12[0]);
        assertFalse(irq1[0]);
        assertEquals(List.of(0x09, 3, 5), drain());
        kbc.pointer(4, 100, 100); // right button, 3 left, 5 up
        assertEquals(List.of(0x08 | 0x02 | 0x10 | 0x20, 0xFD, 0xFB), drain().subList(0, 3));
        kbc.pointer(0, 700, 100); // 600 right: three packets
        List<Integer> p = drain();
        assertEquals(9, p.size());
        assertEquals(600, p.get(1) + p.get(4) + p.get(7));
        assertFalse(irq12[0]);
        auxCommand(0xE9);
        assertEquals(List.of(0xFA, 0x20, 2, 100), drain(), "status: reporting on, resolution, rate");
    }

    @Test
    void randomGuestTrafficNeverThrows() {
        Random r = new Random(7);
        for (int i = 0; i < 100_000; i++) {
            int port = r.nextBoolean() ? 0x60 : 0x64;
            if (r.nextBoolean()) {
                int v = r.nextInt(256);
                if (port == 0x64 && v >= 0xF0 && (v & 1) == 0) {
                    v |= 1; // not the reset pulse
                }
                if (port == 0x60 && v == 0) {
                    v = 1;
                }
                ports.write(port, 1, v);
            } else {
                ports.read(port, 1);
            }
            if (i % 97 == 0) {
                kbc.key(Keymap.key('x'), r.nextBoolean());
                kbc.pointer(r.nextInt(8), r.nextInt(65536), r.nextInt(65536));
            }
        }
    }
}
