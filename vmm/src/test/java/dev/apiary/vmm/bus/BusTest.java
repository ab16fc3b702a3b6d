package dev.apiary.vmm.bus;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BusTest {
    static final class Recorder implements IoHandler {
        final List<String> log = new ArrayList<>();

        public long read(long offset, int size) {
            log.add("r" + offset + "/" + size);
            return 0x1234;
        }

        public void write(long offset, int size, long value) {
            log.add("w" + offset + "/" + size + "=" + value);
        }
    }

    @Test
    void dispatchesWithOffsetsRelativeToTheWindow() {
        Bus b = new Bus("port");
        Recorder r = new Recorder();
        b.register(0x3F8, 8, "com1", r);
        assertEquals(0x1234, b.read(0x3FD, 1));
        b.write(0x3F8, 1, 65);
        assertEquals(List.of("r5/1", "w0/1=65"), r.log);
    }

    @Test
    void unclaimedAccessesReadAllOnesAndAreCounted() {
        Bus b = new Bus("mmio");
        assertEquals(0xFF, b.read(0x10, 1));
        assertEquals(0xFFFF_FFFFL, b.read(0x10, 4));
        assertEquals(-1L, b.read(0x10, 8));
        b.write(0x10, 4, 1);
        assertEquals(4, b.unclaimedAccesses());
    }

    @Test
    void overlapsAreRefusedAndGuestMappingsFailSoftly() {
        Bus b = new Bus("mmio");
        Recorder r = new Recorder();
        b.register(0x1000, 0x100, "a", r);
        assertThrows(IllegalStateException.class, () -> b.register(0x10FF, 1, "b", new Recorder()));
        assertFalse(b.tryRegister(0x1080, 0x100, "bar", new Recorder()));
        assertFalse(b.tryRegister(-4096, 0x100, "bar", new Recorder()));
        assertTrue(b.tryRegister(0x1100, 0x100, "bar", new Recorder()));
        b.unregister(r);
        assertTrue(b.find(0x1000).isEmpty());
        assertTrue(b.find(0x1100).isPresent());
    }
}
