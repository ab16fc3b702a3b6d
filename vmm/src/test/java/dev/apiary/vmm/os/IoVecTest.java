package dev.apiary.vmm.os;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class IoVecTest {
    @Test
    void entriesLimitsAndWindows() {
        IoVec v = new IoVec(4);
        assertTrue(v.add(0x1000, 10));
        assertTrue(v.add(0x2000, 0), "empty ranges are skipped");
        assertTrue(v.add(0x3000, 20));
        assertEquals(2, v.count());
        assertEquals(30, v.bytes());
        v.limit(3);
        assertTrue(v.add(0x4000, 5));
        assertFalse(v.add(0x5000, 5), "the limit keeps the last entry free");
        v.limit(4);
        assertTrue(v.add(0x5000, 5));
        assertFalse(v.add(0x6000, 1), "full");
        IoVec w = new IoVec(8);
        assertTrue(w.addFrom(v, 12));
        assertEquals(3, w.count());
        assertEquals(0x3002, w.base(0));
        assertEquals(18, w.length(0));
        assertEquals(40 - 12, w.bytes());
        assertEquals(0, v.clear().count());
        assertThrows(IllegalArgumentException.class, () -> new IoVec(IoVec.MAX_ENTRIES + 1));
    }
}
