package dev.apiary.vmm.boot;

import static dev.apiary.vmm.boot.Aml.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Each encoding against the bytes the ACPI spec's grammar gives (and that iasl 20200925 emits for the same
 * ASL; the expected strings were cross-checked by compiling the ASL in the comments).
 */
class AmlTest {
    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    private static void assertBytes(String expected, byte[] actual) {
        assertEquals(expected.replace(" ", "").toLowerCase(), HexFormat.of().formatHex(actual));
    }

    @Test
    void pkgLengthValueAtTheEncodingBoundaries() {
        assertBytes("00", pkgLengthValue(0));
        assertBytes("3f", pkgLengthValue(63));
        assertBytes("40 04", pkgLengthValue(64));
        assertBytes("46 08", pkgLengthValue(0x86));
        assertBytes("4f ff", pkgLengthValue(4095));
        assertBytes("80 00 01", pkgLengthValue(4096));
        assertBytes("8f ff ff", pkgLengthValue(1048575));
        assertBytes("c0 00 00 01", pkgLengthValue(1048576));
        assertBytes("cf ff ff ff", pkgLengthValue(MAX_PKG_LENGTH));
        assertThrows(IllegalArgumentException.class, () -> pkgLengthValue(MAX_PKG_LENGTH + 1));
    }

    @Test
    void pkgLengthCountsItsOwnBytes() {
        assertBytes("3f", pkgLength(62)); // 62 + 1 = 63 fits one byte
        assertBytes("41 04", pkgLength(63)); // 63 + 1 = 64 does not: 63 + 2 = 65
        assertBytes("4f ff", pkgLength(4093)); // 4093 + 2 = 4095
        assertBytes("81 00 01", pkgLength(4094)); // 4094 + 3 = 4097
        assertBytes("8f ff ff", pkgLength(1048572)); // + 3 = 1048575
        assertBytes("c1 00 00 01", pkgLength(1048573)); // 1048573 + 3 = 1048576 is too big: + 4 = 1048577
        assertThrows(IllegalArgumentException.class, () -> pkgLength(MAX_PKG_LENGTH));
    }

    @Test
    void integersUseTheShortestEncoding() {
        assertBytes("00", integer(0));
        assertBytes("01", integer(1));
        assertBytes("ff", integer(-1)); // Ones
        assertBytes("0a 2a", integer(0x2A));
        assertBytes("0a ff", integer(0xFF));
        assertBytes("0b 00 01", integer(0x100));
        assertBytes("0b 34 12", integer(0x1234));
        assertBytes("0c 00 00 01 00", integer(0x10000));
        assertBytes("0c 78 56 34 12", integer(0x12345678));
        assertBytes("0e 00 00 00 00 01 00 00 00", integer(0x1_0000_0000L));
        assertBytes("0e f0 de bc 9a 78 56 34 12", integer(0x123456789ABCDEF0L));
        assertBytes("0c ff ff 00 00", dword(0xFFFF));
    }

    @Test
    void namesAndPaths() {
        assertBytes("5f 53 42 5f", nameString("_SB"));
        assertBytes("5c 5f 53 42 5f", nameString("\\_SB"));
        assertBytes("5c 2e 5f 53 42 5f 50 43 49 30", nameString("\\_SB.PCI0"));
        assertBytes("5c 2f 03 5f 53 42 5f 50 43 49 30 58 5f 5f 5f", nameString("\\_SB.PCI0.X"));
        assertBytes("5e 5e 58 5f 5f 5f", nameString("^^X"));
        assertBytes("5c 00", nameString("\\"));
        assertThrows(IllegalArgumentException.class, () -> nameString("TOOLONG"));
        assertThrows(IllegalArgumentException.class, () -> nameString("1ABC"));
        assertThrows(IllegalArgumentException.class, () -> nameString("ab"));
        assertThrows(IllegalArgumentException.class, () -> nameString("\\_SB..X"));
    }

    @Test
    void stringsBuffersAndPackages() {
        assertBytes("0d 41 43 50 49 30 30 30 37 00", string("ACPI0007"));
        assertThrows(IllegalArgumentException.class, () -> string("caf\u00e9"));
        assertBytes("11 05 0a 02 aa bb", buffer(hex("aabb")));
        // Name (_S5, Package () { 0, 0, 0, 0 })
        assertBytes("08 5f 53 35 5f 12 06 04 00 00 00 00",
                name("_S5_", pkg(integer(0), integer(0), integer(0), integer(0))));
        // Package () { 0x0000FFFF, 0, 0, 0x10 } with a DWord address, as _PRT entries are written
        assertBytes("12 0b 04 0c ff ff 00 00 00 00 0a 10", pkg(dword(0xFFFF), integer(0), integer(0), integer(16)));
    }

    @Test
    void eisaIds() {
        assertEquals(0x030AD041L, eisaIdValue("PNP0A03"));
        assertBytes("0c 41 d0 0a 03", eisaId("PNP0A03"));
        assertBytes("0c 41 d0 05 01", eisaId("PNP0501"));
        assertBytes("0c 41 d0 0b 00", eisaId("PNP0B00"));
        assertThrows(IllegalArgumentException.class, () -> eisaId("pnp0a03"));
    }

    @Test
    void namedObjectsAndMethods() {
        // Method (_PIC, 1, NotSerialized) { }
        assertBytes("14 06 5f 50 49 43 01", method("_PIC", 1, false));
        // Method (MTH1, 0, Serialized) { Return (0x0F) }
        assertBytes("14 09 4d 54 48 31 08 a4 0a 0f", method("MTH1", 0, true, ret(integer(0x0F))));
        // Scope (\_SB.PCI0) { Name (X, 1) }  (iasl drops the redundant root prefix at root scope; we keep it)
        assertBytes("10 11 5c 2e 5f 53 42 5f 50 43 49 30 08 58 5f 5f 5f 01",
                scope("\\_SB.PCI0", name("X", integer(1))));
        // Device (COM1) { Name (_UID, 1) }
        assertBytes("5b 82 0b 43 4f 4d 31 08 5f 55 49 44 01", device("COM1", name("_UID", integer(1))));
        assertThrows(IllegalArgumentException.class, () -> method("M", 8, false));
    }

    @Test
    void resourceDescriptors() {
        assertBytes("47 01 f8 03 f8 03 01 08", io(0x3F8, 0x3F8, 1, 8));
        assertBytes("22 10 00", irqNoFlags(4));
        assertBytes("22 00 01", irqNoFlags(8));
        assertBytes("23 00 02 18", irq(9, false, true, true)); // IRQ (Level, ActiveLow, Shared) {9}
        assertBytes("23 10 00 01", irq(4, true, false, false));
        assertBytes("89 06 00 01 01 09 00 00 00", extendedIrq(9, false, false, false));
        assertBytes("89 06 00 0f 01 10 00 00 00", extendedIrq(16, true, true, true));
        assertBytes("88 0d 00 02 0c 00 0000 0000 ff00 0000 0001", wordBusNumber(0, 0xFF));
        assertBytes("88 0d 00 01 0c 03 0000 0000 f70c 0000 f80c", wordIo(0, 0xCF7));
        assertBytes("87 17 00 00 0c 01 00000000 000000c0 ffffbffe 00000000 0000c03e",
                dwordMemory(0xC000_0000L, 0xFEBF_FFFFL, false));
        assertBytes("8a 2b 00 00 0c 03 0000000000000000 0000000001000000 ffffffff10000000 0000000000000000"
                + " 0000000010000000", qwordMemory(0x1_0000_0000L, 0x10_FFFF_FFFFL, true));
        assertBytes("79 00", endTag());
        // ResourceTemplate () { IO (Decode16, 0x70, 0x70, 0x01, 0x02) IRQNoFlags () {8} }
        assertBytes("11 10 0a 0d 47 01 70 00 70 00 01 02 22 00 01 79 00",
                resourceTemplate(io(0x70, 0x70, 1, 2), irqNoFlags(8)));
    }
}
