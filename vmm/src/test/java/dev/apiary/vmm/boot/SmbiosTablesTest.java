package dev.apiary.vmm.boot;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.memory.MemoryLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** SMBIOS structures and entry point, checked as a DSP0134 reader (and OVMF's version detection) reads them. */
class SmbiosTablesTest {
    private static final long GiB = 1L << 30;
    private static final UUID ID = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");

    /** Walks the structures as DSP0134 6.1 lays them out: formatted area, then strings ending in a double NUL. */
    private record Structure(int type, int handle, byte[] formatted, List<String> strings) {}

    private static List<Structure> walk(byte[] t) {
        List<Structure> out = new ArrayList<>();
        int at = 0;
        while (true) {
            assertTrue(at + 4 <= t.length, "a structure header fits");
            int type = t[at] & 0xFF;
            int length = t[at + 1] & 0xFF;
            int handle = ByteBuffer.wrap(t, at + 2, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xFFFF;
            assertTrue(length >= 4 && at + length + 2 <= t.length, "formatted area and terminator fit");
            byte[] f = new byte[length];
            System.arraycopy(t, at, f, 0, length);
            List<String> strings = new ArrayList<>();
            int p = at + length;
            if (t[p] == 0) {
                assertEquals(0, t[p + 1], "no strings: two NULs");
                p += 2;
            } else {
                while (t[p] != 0) {
                    int e = p;
                    while (t[e] != 0) {
                        e++;
                    }
                    strings.add(new String(t, p, e - p, StandardCharsets.US_ASCII));
                    p = e + 1;
                }
                p++;
            }
            out.add(new Structure(type, handle, f, strings));
            at = p;
            if (type == 127) {
                assertEquals(t.length, at, "End-of-Table is last");
                return out;
            }
        }
    }

    @Test
    void structuresDescribeTheMachine() {
        SmbiosTables.Tables t = SmbiosTables.build(3, MemoryLayout.forRam(20 * GiB), ID);
        List<Structure> s = walk(t.structures());
        assertEquals(List.of(1, 3, 4, 4, 4, 16, 17, 17, 19, 19, 32, 127), s.stream().map(Structure::type).toList());
        assertEquals(s.size(), s.stream().map(Structure::handle).distinct().count(), "handles are unique");
        assertEquals(SmbiosTables.types(t.structures()), s.stream().map(Structure::type).toList());
        Structure system = s.get(0);
        assertEquals(List.of("Apiary", "Apiary PC", "1"), system.strings());
        // DSP0134 7.2.1: the UUID's first three fields little-endian
        assertEquals("33221100554477668899aabbccddeeff",
                java.util.HexFormat.of().formatHex(system.formatted(), 8, 24));
        assertEquals(List.of("CPU 2", "Apiary", "Apiary vCPU"), s.get(4).strings());
        ByteBuffer array = ByteBuffer.wrap(s.get(5).formatted()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(20L << 20, array.getInt(7) & 0xFFFF_FFFFL, "capacity in KiB");
        assertEquals(2, array.getShort(13), "two 16 GiB DIMMs for 20 GiB");
        ByteBuffer dimm2 = ByteBuffer.wrap(s.get(7).formatted()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(4096, dimm2.getShort(12), "the second DIMM holds the last 4 GiB (MiB)");
        ByteBuffer high = ByteBuffer.wrap(s.get(9).formatted()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(4 * GiB >>> 10, high.getInt(4) & 0xFFFF_FFFFL, "high RAM starts at 4 GiB (KiB)");
        assertEquals((4 * GiB + 17 * GiB - 1) >>> 10, high.getInt(8) & 0xFFFF_FFFFL);
    }

    @Test
    void anchorIsWhatOvmfAccepts() {
        SmbiosTables.Tables t = SmbiosTables.build(1, MemoryLayout.forRam(512L << 20), ID);
        byte[] a = t.anchor();
        assertEquals(SmbiosTables.ANCHOR_LENGTH, a.length);
        assertEquals("_SM3_", new String(a, 0, 5, StandardCharsets.US_ASCII));
        int sum = 0;
        for (byte b : a) {
            sum += b;
        }
        assertEquals(0, sum & 0xFF, "entry point checksum");
        assertEquals(3, a[7], "major version");
        ByteBuffer b = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        // OVMF's DetectSmbiosVersion: TableMaximumSize must equal the size of etc/smbios/smbios-tables
        assertEquals(t.structures().length, b.getInt(12));
    }
}
