package dev.apiary.vmm.boot;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.boot.E820Map.Entry;
import dev.apiary.vmm.boot.E820Map.Type;
import dev.apiary.vmm.memory.MemoryLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

class E820MapTest {
    private static final long MiB = 1L << 20;
    private static final long GiB = 1L << 30;

    private static List<Entry> expected(long lowTop, long high) {
        var list = new java.util.ArrayList<>(List.of(
                new Entry(0, 0x9FC00, Type.RAM),
                new Entry(0x9FC00, 0x400, Type.RESERVED),
                new Entry(0xE0000, 0x20000, Type.RESERVED),
                new Entry(0x100000, lowTop - 0x100000, Type.RAM),
                new Entry(0xFEC00000L, 0x1000, Type.RESERVED),
                new Entry(0xFEE00000L, 0x1000, Type.RESERVED)));
        if (high > 0) {
            list.add(new Entry(4 * GiB, high, Type.RAM));
        }
        return list;
    }

    @Test
    void map64MiB() {
        E820Map m = E820Map.of(MemoryLayout.forRam(64 * MiB));
        assertEquals(expected(64 * MiB, 0), m.entries());
        assertEquals(64 * MiB - 0x400 - 0x60000, m.ramBytes());
    }

    @Test
    void map3GiB() {
        assertEquals(expected(3 * GiB, 0), E820Map.of(MemoryLayout.forRam(3 * GiB)).entries());
    }

    @Test
    void map4GiBPutsTheLastGiBAbove4GiB() {
        assertEquals(expected(3 * GiB, GiB), E820Map.of(MemoryLayout.forRam(4 * GiB)).entries());
    }

    @Test
    void map6GiB() {
        E820Map m = E820Map.of(MemoryLayout.forRam(6 * GiB));
        assertEquals(expected(3 * GiB, 3 * GiB), m.entries());
        Entry last = m.entries().get(m.entries().size() - 1);
        assertEquals(7 * GiB, last.end());
    }

    @Test
    void entriesAreSortedAndDisjointAndTheMmioWindowIsAGap() {
        for (long ram : new long[] {16 * MiB, 64 * MiB, 3 * GiB, 4 * GiB, 6 * GiB, 1L << 40}) {
            List<Entry> e = E820Map.of(MemoryLayout.forRam(ram)).entries();
            for (int i = 1; i < e.size(); i++) {
                assertTrue(e.get(i).address() >= e.get(i - 1).end(), e.toString());
            }
            for (Entry x : e) {
                boolean inWindow = x.end() > MemoryLayout.PCI_MMIO32_BASE && x.address() < MemoryLayout.PCI_MMIO32_END;
                assertFalse(inWindow, "e820 entry in the 32-bit PCI window: " + x);
            }
        }
    }

    @Test
    void withReservedAddsAndRefusesOverlaps() {
        E820Map m = E820Map.of(MemoryLayout.forRam(64 * MiB)).withReserved(0xFFC00000L, 0x400000);
        assertEquals(new Entry(0xFFC00000L, 0x400000, Type.RESERVED), m.entries().get(m.entries().size() - 1));
        assertThrows(IllegalArgumentException.class, () -> m.withReserved(0x1000, 0x1000));
    }

    @Test
    void topOfLowRamReservedForAFramebuffer() {
        E820Map m = E820Map.of(MemoryLayout.forRam(64 * MiB)).withTopOfLowRamReserved(4 * MiB);
        assertEquals(60 * MiB, m.ramEnd(0x100000));
        assertEquals(-1, m.ramEnd(61 * MiB));
        assertTrue(m.entries().contains(new Entry(60 * MiB, 4 * MiB, E820Map.Type.RESERVED)), m.toString());
        assertEquals(E820Map.of(MemoryLayout.forRam(64 * MiB)).ramBytes() - 4 * MiB, m.ramBytes());
        assertThrows(IllegalArgumentException.class, () -> m.withTopOfLowRamReserved(100 * MiB));
        assertThrows(IllegalArgumentException.class, () -> m.withTopOfLowRamReserved(123));
    }
}
