package dev.apiary.vmm.boot;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.MemoryLayout;
import dev.apiary.vmm.pci.PciInterruptRouting;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AcpiTablesTest {
    private static final long GiB = 1L << 30;

    private static AcpiTables.Config config(int cpus) {
        return new AcpiTables.Config(cpus, MemoryLayout.forRam(6 * GiB), Set.of(1, 2), true);
    }

    private static int sum(byte[] b, int from, int to) {
        int s = 0;
        for (int i = from; i < to; i++) {
            s += b[i];
        }
        return s & 0xFF;
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static String ascii(byte[] b, int at, int len) {
        return new String(b, at, len, StandardCharsets.US_ASCII);
    }

    @Test
    void everyTableHasAValidHeaderAndChecksum() {
        AcpiTables t = AcpiTables.build(config(4));
        for (AcpiTables.Table x : t.tables()) {
            byte[] b = x.bytes();
            switch (x.signature()) {
                case "RSD PTR " -> {
                    assertEquals(0, sum(b, 0, 20), "RSDP checksum");
                    assertEquals(0, sum(b, 0, 36), "RSDP extended checksum");
                    assertEquals(2, b[15]);
                    assertEquals(36, le(b).getInt(20));
                    assertEquals("APIARY", ascii(b, 9, 6));
                }
                case "FACS" -> {
                    assertEquals("FACS", ascii(b, 0, 4));
                    assertEquals(64, le(b).getInt(4));
                    assertEquals(0, x.address() % 64, "FACS is 64-byte aligned");
                }
                default -> {
                    assertEquals(x.signature(), ascii(b, 0, 4));
                    assertEquals(b.length, le(b).getInt(4), x.signature() + " length");
                    assertEquals(0, sum(b, 0, b.length), x.signature() + " checksum");
                    assertEquals("APIARY", ascii(b, 10, 6));
                    assertEquals("APIARYPC", ascii(b, 16, 8));
                    assertEquals(1, le(b).getInt(24));
                    assertEquals("APRY", ascii(b, 28, 4));
                    assertEquals(1, le(b).getInt(32));
                    assertEquals(0, x.address() % 16);
                }
            }
            assertTrue(x.address() >= 0xE0000 && x.address() + b.length <= 0x100000, x.signature());
        }
        assertEquals(0xE0000, t.rsdpAddress());
        assertEquals(6, t.table("FACP").bytes()[8]);
        assertEquals(276, t.table("FACP").length());
        assertEquals(2, t.table("DSDT").bytes()[8]);
        assertEquals(4, t.table("APIC").bytes()[8]);
    }

    @Test
    void tablesDoNotOverlap() {
        List<AcpiTables.Table> ts = new ArrayList<>(AcpiTables.build(config(64)).tables());
        ts.sort((a, b) -> Long.compare(a.address(), b.address()));
        for (int i = 1; i < ts.size(); i++) {
            assertTrue(ts.get(i - 1).address() + ts.get(i - 1).length() <= ts.get(i).address());
        }
    }

    @Test
    void pointersLeadFromTheRsdpToEveryTableInGuestMemory() throws Exception {
        AcpiTables t = AcpiTables.build(config(2));
        GuestMemory mem = GuestMemory.allocate(0, 16 << 20);
        mem.fill(0xE0000, 0x20000, (byte) 0x77);
        t.writeTo(mem);
        byte[] sig = new byte[8];
        mem.read(0xE0000, sig, 0, 8);
        assertEquals("RSD PTR ", new String(sig, StandardCharsets.US_ASCII));
        long xsdt = mem.read64(0xE0000 + 24);
        long rsdt = Integer.toUnsignedLong(mem.read32(0xE0000 + 16));
        assertEquals(t.table("XSDT").address(), xsdt);
        assertEquals(t.table("RSDT").address(), rsdt);
        assertEquals(36 + 16, mem.read32(xsdt + 4));
        long fadt = mem.read64(xsdt + 36);
        long madt = mem.read64(xsdt + 44);
        assertEquals(t.table("FACP").address(), fadt);
        assertEquals(t.table("APIC").address(), madt);
        assertEquals((int) fadt, mem.read32(rsdt + 36));
        assertEquals((int) madt, mem.read32(rsdt + 40));
        long facs = t.table("FACS").address();
        long dsdt = t.table("DSDT").address();
        assertEquals((int) facs, mem.read32(fadt + 36));
        assertEquals((int) dsdt, mem.read32(fadt + 40));
        assertEquals(facs, mem.read64(fadt + 132));
        assertEquals(dsdt, mem.read64(fadt + 140));
        assertEquals(0x54445344, mem.read32(dsdt)); // "DSDT"
        assertEquals(0x53434146, mem.read32(facs)); // "FACS"
        assertEquals(0, mem.read8(t.table("RSDT").address() + t.table("RSDT").length())); // area zeroed
    }

    @Test
    void fadtDescribesThePiix4PmBlockAndReset() {
        ByteBuffer f = le(AcpiTables.build(config(1)).table("FACP").bytes());
        assertEquals(9, f.getShort(46)); // SCI_INT
        assertEquals(0, f.getInt(48)); // SMI_CMD
        assertEquals(0xB000, f.getInt(56));
        assertEquals(0xB004, f.getInt(64));
        assertEquals(0xB008, f.getInt(76));
        assertEquals(0, f.getInt(80)); // no GPE0 block
        assertEquals(4, f.get(88));
        assertEquals(2, f.get(89));
        assertEquals(4, f.get(91));
        assertEquals(0, f.get(92));
        int flags = f.getInt(112);
        assertEquals(0x1 | 0x4 | 0x20 | 0x400, flags);
        assertEquals(0, flags & (1 << 8), "24-bit PM timer");
        assertEquals(0, flags & (1 << 20), "not hardware-reduced");
        assertEquals(0x07, f.getShort(109)); // legacy devices, 8042, no VGA
        assertEquals(1, f.get(116)); // RESET_REG: system I/O
        assertEquals(8, f.get(117));
        assertEquals(0xCF9, f.getLong(120));
        assertEquals(6, f.get(128));
        // X_PM1a_EVT_BLK, X_PM1a_CNT_BLK, X_PM_TMR_BLK
        assertEquals(1, f.get(148));
        assertEquals(32, f.get(149));
        assertEquals(0xB000, f.getLong(152));
        assertEquals(16, f.get(173));
        assertEquals(0xB004, f.getLong(176));
        assertEquals(32, f.get(209));
        assertEquals(0xB008, f.getLong(212));
        ByteBuffer no8042 = le(AcpiTables.build(new AcpiTables.Config(1, MemoryLayout.forRam(GiB), Set.of(), false))
                .table("FACP").bytes());
        assertEquals(0x05, no8042.getShort(109));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4, 64})
    void madtHasOneLocalApicPerCpuAndTheIoapic(int cpus) {
        byte[] m = AcpiTables.build(config(cpus)).table("APIC").bytes();
        ByteBuffer b = le(m);
        assertEquals(0xFEE00000, b.getInt(36));
        assertEquals(1, b.getInt(40)); // PCAT_COMPAT
        List<Integer> apicIds = new ArrayList<>();
        List<String> others = new ArrayList<>();
        int at = 44;
        while (at < m.length) {
            int type = m[at];
            int len = m[at + 1];
            assertTrue(len > 0);
            switch (type) {
                case 0 -> {
                    assertEquals(8, len);
                    assertEquals(apicIds.size(), m[at + 2], "processor UID");
                    apicIds.add((int) m[at + 3]);
                    assertEquals(1, b.getInt(at + 4), "enabled");
                }
                case 1 -> {
                    assertEquals(12, len);
                    assertEquals(cpus, m[at + 2], "IOAPIC id after the APIC ids");
                    assertEquals(0xFEC00000, b.getInt(at + 4));
                    assertEquals(0, b.getInt(at + 8));
                    others.add("ioapic");
                }
                case 2 -> {
                    assertEquals(10, len);
                    assertEquals(0, m[at + 2]);
                    others.add("iso " + m[at + 3] + "->" + b.getInt(at + 4) + " flags " + b.getShort(at + 8));
                }
                case 4 -> {
                    assertEquals(6, len);
                    others.add("nmi " + (m[at + 2] & 0xFF) + " lint" + m[at + 5]);
                }
                default -> fail("unexpected MADT entry type " + type);
            }
            at += len;
        }
        assertEquals(m.length, at);
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < cpus; i++) {
            expected.add(i);
        }
        assertEquals(expected, apicIds);
        assertEquals(List.of("ioapic", "iso 0->2 flags 5", "iso 9->9 flags 13", "nmi 255 lint1"), others);
    }

    @Test
    void cpuCountIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> config(0));
        assertThrows(IllegalArgumentException.class, () -> config(65));
        assertThrows(IllegalArgumentException.class,
                () -> new AcpiTables.Config(1, MemoryLayout.forRam(GiB), Set.of(5), false));
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        return HexFormat.of().formatHex(hay).contains(HexFormat.of().formatHex(needle));
    }

    @Test
    void dsdtCarriesTheRoutingTableAndTheDevices() {
        AcpiTables.Config c = config(2);
        byte[] d = AcpiTables.build(c).table("DSDT").bytes();
        for (int slot = 0; slot < 32; slot++) {
            for (int pin = 0; pin < 4; pin++) {
                byte[] entry = Aml.pkg(Aml.dword(((long) slot << 16) | 0xFFFF), Aml.integer(pin), Aml.integer(0),
                        Aml.integer(PciInterruptRouting.gsi(slot, pin + 1)));
                assertTrue(contains(d, entry), "_PRT entry for slot " + slot + " pin " + pin);
            }
        }
        assertTrue(contains(d, Aml.name("_CRS", AcpiTables.pciCrs(c.layout(), c.pciMmio32Base()))));
        assertTrue(contains(d, Aml.name("\\_S5_", Aml.pkg(Aml.integer(0), Aml.integer(0), Aml.integer(0), Aml.integer(0)))));
        assertTrue(contains(d, Aml.device("COM1", Aml.name("_HID", Aml.eisaId("PNP0501")), Aml.name("_UID", Aml.integer(1)),
                Aml.name("_STA", Aml.integer(0x0F)),
                Aml.name("_CRS", Aml.resourceTemplate(Aml.io(0x3F8, 0x3F8, 1, 8), Aml.irqNoFlags(4))))));
        assertTrue(contains(d, Aml.device("COM3", Aml.name("_HID", Aml.eisaId("PNP0501")), Aml.name("_UID", Aml.integer(3)),
                Aml.name("_STA", Aml.integer(0)),
                Aml.name("_CRS", Aml.resourceTemplate(Aml.io(0x3E8, 0x3E8, 1, 8), Aml.irqNoFlags(4))))));
        // The 64-bit window follows the RAM: 6 GiB of RAM ends at 7 GiB, so the window starts there.
        assertTrue(contains(d, Aml.qwordMemory(7 * GiB, 7 * GiB + 64 * GiB - 1, false)));
        assertTrue(contains(d, Aml.dwordMemory(0xC0000000L, 0xFEBFFFFFL, false)));
    }

    // ------------------------------------------------------------------ iasl round trip

    private static boolean iaslPresent() {
        try {
            Process p = new ProcessBuilder("iasl", "-v").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /** Disassembles with iasl; returns the .dsl text. Fails on a non-zero exit or any reported error. */
    private static String disassemble(Path dir, String file, byte[] bytes) throws Exception {
        Path in = dir.resolve(file + ".dat");
        Files.write(in, bytes);
        Process p = new ProcessBuilder("iasl", "-d", in.getFileName().toString()).directory(dir.toFile())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "iasl timed out");
        assertEquals(0, p.exitValue(), out);
        assertFalse(out.matches("(?s).*\\bError\\b.*"), out);
        String dsl = Files.readString(dir.resolve(file + ".dsl"));
        assertFalse(dsl.contains("**** Unknown") || dsl.contains("Invalid"), dsl);
        return dsl;
    }

    @Test
    void iaslDisassemblesEveryTable(@TempDir Path dir) throws Exception {
        if (!iaslPresent()) {
            System.out.println("AcpiTablesTest: iasl not installed (Debian: acpica-tools); skipping the round trip");
            Assumptions.abort("iasl not installed");
        }
        AcpiTables t = AcpiTables.build(config(4));
        String dsdt = disassemble(dir, "dsdt", t.table("DSDT").bytes());
        assertTrue(dsdt.contains("Device (PCI0)"), dsdt);
        assertTrue(dsdt.contains("EisaId (\"PNP0A03\")"), dsdt);
        assertTrue(dsdt.contains("Name (\\_S5, Package (0x04)"), dsdt);
        assertFalse(dsdt.contains("_ADR"), "a device has _HID or _ADR, not both (ACPI 6.0 §6.1)");
        assertTrue(dsdt.contains("Device (COM4)") && dsdt.contains("Device (RTC)") && dsdt.contains("Device (KBD)")
                && dsdt.contains("Device (MOU)") && dsdt.contains("EisaId (\"PNP0F13\")"), dsdt);
        assertTrue(dsdt.contains("QWordMemory") && dsdt.contains("WordBusNumber"), dsdt);
        assertTrue(dsdt.contains("Device (C003)"), dsdt);
        String fadt = disassemble(dir, "facp", t.table("FACP").bytes());
        assertTrue(fadt.contains("SCI Interrupt : 0009"), fadt);
        String madt = disassemble(dir, "apic", t.table("APIC").bytes());
        assertTrue(madt.contains("I/O APIC"), madt);
        disassemble(dir, "xsdt", t.table("XSDT").bytes());
        disassemble(dir, "rsdt", t.table("RSDT").bytes());
        disassemble(dir, "facs", t.table("FACS").bytes());
        // (iasl cannot disassemble a bare RSDP; its checksums are checked above.)

        // The disassembled DSDT compiles back without errors.
        Process p = new ProcessBuilder("iasl", "dsdt.dsl").directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "iasl timed out");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("0 Errors, 0 Warnings"), out);
    }
}
