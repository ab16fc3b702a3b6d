package dev.apiary.vmm.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {
    private static final long MiB = 1L << 20;
    private static final long GiB = 1L << 30;

    @Test
    void littleEndianAccessAndBounds() throws Exception {
        GuestMemory m = GuestMemory.allocate(0, 2 * MiB);
        m.write32(0x1000, 0x11223344);
        assertEquals(0x44, m.read8(0x1000));
        assertEquals(0x3344, m.read16(0x1000));
        m.write64(2 * MiB - 8, -1L);
        assertEquals(-1L, m.read64(2 * MiB - 8));
        assertThrows(GuestMemoryException.class, () -> m.read64(2 * MiB - 4)); // straddles the end
        assertThrows(GuestMemoryException.class, () -> m.read8(2 * MiB));
        assertThrows(GuestMemoryException.class, () -> m.read8(-1));
        assertThrows(GuestMemoryException.class, () -> m.write8(Long.MAX_VALUE, (byte) 1));
        assertThrows(GuestMemoryException.class, () -> m.read(2 * MiB - 2, new byte[4], 0, 4));
    }

    @Test
    void holesBetweenRegionsAreNotRam() throws Exception {
        GuestMemory m = GuestMemory.allocate(0, 64 * MiB, 4 * GiB, 64 * MiB);
        assertTrue(m.isValid(4 * GiB, 64 * MiB));
        assertFalse(m.isValid(3 * GiB, 8));
        assertFalse(m.isValid(64 * MiB - 4, 8));
        assertThrows(GuestMemoryException.class, () -> m.read32(0xFEE0_0000L));
        m.write32(4 * GiB + 16, 7);
        assertEquals(7, m.read32(4 * GiB + 16));
        assertEquals(128 * MiB, m.totalBytes());
    }

    @Test
    void slicesAreViewsNotCopies() throws Exception {
        GuestMemory m = GuestMemory.allocate(0, MiB);
        ByteBuffer s = m.slice(0x2000, 16);
        s.putInt(4, 0xCAFEBABE);
        assertEquals(0xCAFEBABE, m.read32(0x2004));
        assertThrows(GuestMemoryException.class, () -> m.slice(MiB - 8, 16));
    }

    @Test
    void bulkCopiesAcrossChunkBoundaries() throws Exception {
        GuestMemory m = GuestMemory.allocate(0, GiB + 4096);
        byte[] data = new byte[64];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        m.write(GiB - 32, data);
        byte[] back = new byte[64];
        m.read(GiB - 32, back, 0, 64);
        assertArrayEquals(data, back);
        assertEquals(32, m.maxContiguous(GiB - 32, 64));
    }

    @Test
    void everyWriteThroughThisObjectIsObserved() throws Exception {
        GuestMemory m = GuestMemory.allocate(0, 2 * MiB);
        java.util.List<long[]> seen = new java.util.ArrayList<>();
        m.observeWrites((gpa, len) -> seen.add(new long[] {gpa, len}));
        m.write8(0x10, (byte) 1);
        m.write16(0x20, (short) 1);
        m.write32(0x30, 1);
        m.write64(0x40, 1);
        m.write(0x1000, new byte[300]);
        m.fill(0x3000, 5000, (byte) 0);
        m.slice(0x8000, 4096); // a DMA view may be written through
        m.read32(0x30);        // reads are not
        assertEquals(java.util.List.of("16+1", "32+2", "48+4", "64+8", "4096+300", "12288+5000", "32768+4096"),
                seen.stream().map(a -> a[0] + "+" + a[1]).toList());
    }

    @Test
    void hostAddressesAreCheckedAndWritesReported() throws Exception {
        GuestMemory m = GuestMemory.allocate(0, 2 * MiB, 4 * GiB, MiB);
        java.util.List<long[]> seen = new java.util.ArrayList<>();
        m.observeWrites((gpa, len) -> seen.add(new long[] {gpa, len}));
        long a = m.hostAddress(0x1000, 16, true);
        com.kenai.jffi.MemoryIO.getInstance().putInt(a, 0x55667788);
        assertEquals(0x55667788, m.read32(0x1000), "the address is where guest RAM lives");
        assertEquals(m.hostAddress(0x1000, 16, false) + 0x100, m.hostAddress(0x1100, 4, false));
        assertEquals(8, m.hostAddress(4 * GiB + 8, 8, false) - m.hostAddress(4 * GiB, 8, false));
        assertThrows(GuestMemoryException.class, () -> m.hostAddress(2 * MiB - 8, 16, true), "past the end of RAM");
        assertThrows(GuestMemoryException.class, () -> m.hostAddress(3 * GiB, 4, false), "a hole");
        assertThrows(GuestMemoryException.class, () -> m.hostAddress(-4096, 4, false));
        assertEquals(1, seen.size(), "only the write was reported");
        assertEquals(0x1000, seen.get(0)[0]);
    }
}
