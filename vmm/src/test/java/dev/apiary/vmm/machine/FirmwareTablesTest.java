package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.boot.AcpiTables;
import dev.apiary.vmm.boot.Aml;
import dev.apiary.vmm.fwcfg.TableLoader;
import dev.apiary.vmm.memory.MemoryLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The ACPI tables as firmware receives them through fw_cfg: the loader script is run here the way OVMF's
 * {@code QemuFwCfgAcpi.c} runs it (the same checks on every command), with the blobs placed at addresses of
 * the test's choosing, and the result must be a consistent set of tables at those addresses.
 */
class FirmwareTablesTest {
    private static final long GiB = 1L << 30;

    /** A loader as firmware implements it: blobs in one flat memory, every command checked. */
    private static final class Loader {
        final ByteBuffer mem = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        final Map<String, int[]> blobs = new HashMap<>(); // name -> {address, size}
        final List<Long> pointees = new ArrayList<>();
        int next;

        Loader(Map<String, byte[]> files, byte[] script, int base) {
            next = base;
            assertEquals(0, script.length % TableLoader.COMMAND_SIZE);
            ByteBuffer s = ByteBuffer.wrap(script).order(ByteOrder.LITTLE_ENDIAN);
            for (int at = 0; at < script.length; at += TableLoader.COMMAND_SIZE) {
                int type = s.getInt(at);
                switch (type) {
                    case TableLoader.CMD_ALLOCATE -> {
                        String f = name(script, at + 4);
                        int align = s.getInt(at + 4 + 56);
                        assertTrue(align > 0 && align <= 4096 && Integer.bitCount(align) == 1, "alignment " + align);
                        byte[] data = files.get(f);
                        assertNotNull(data, "allocated file exists: " + f);
                        assertFalse(blobs.containsKey(f), "allocated once: " + f);
                        next = (next + 4095) & -4096; // OVMF allocates whole pages
                        blobs.put(f, new int[] {next, data.length});
                        mem.put(next, data);
                        next += data.length;
                    }
                    case TableLoader.CMD_ADD_POINTER -> {
                        int[] from = blobs.get(name(script, at + 4));
                        int[] to = blobs.get(name(script, at + 60));
                        assertNotNull(from);
                        assertNotNull(to);
                        int offset = s.getInt(at + 116);
                        int size = script[at + 120];
                        assertTrue(size == 1 || size == 2 || size == 4 || size == 8);
                        assertTrue(offset >= 0 && offset + size <= from[1], "pointer inside its blob");
                        long value = 0;
                        for (int i = size - 1; i >= 0; i--) {
                            value = (value << 8) | (mem.get(from[0] + offset + i) & 0xFF);
                        }
                        assertTrue(value >= 0 && value < to[1], "pointer value inside the pointee blob");
                        value += to[0];
                        for (int i = 0; i < size; i++) {
                            mem.put(from[0] + offset + i, (byte) (value >>> (8 * i)));
                        }
                        pointees.add(value);
                    }
                    case TableLoader.CMD_ADD_CHECKSUM -> {
                        int[] blob = blobs.get(name(script, at + 4));
                        int result = s.getInt(at + 60);
                        int start = s.getInt(at + 64);
                        int length = s.getInt(at + 68);
                        assertTrue(result < blob[1] && start >= 0 && length <= blob[1] - start, "checksum range");
                        int sum = 0;
                        for (int i = 0; i < length; i++) {
                            sum += mem.get(blob[0] + start + i);
                        }
                        mem.put(blob[0] + result, (byte) -sum); // OVMF's CalculateCheckSum8: the byte counts too
                    }
                    default -> fail("unknown loader command " + type);
                }
            }
        }

        static String name(byte[] b, int at) {
            int end = at;
            while (b[end] != 0) {
                end++;
                assertTrue(end < at + 56, "file name NUL-terminated within 56 bytes");
            }
            return new String(b, at, end - at, StandardCharsets.US_ASCII);
        }

        String signature(long address, int length) {
            byte[] b = new byte[length];
            mem.get((int) address, b);
            return new String(b, StandardCharsets.US_ASCII);
        }

        int sum(long address, int length) {
            int s = 0;
            for (int i = 0; i < length; i++) {
                s += mem.get((int) address + i);
            }
            return s & 0xFF;
        }

        /** A table's address after checking its header: signature, length, checksum. */
        long table(long address, String signature) {
            assertEquals(signature, signature(address, 4));
            int length = mem.getInt((int) address + 4);
            if (!signature.equals("FACS")) {
                assertEquals(0, sum(address, length), signature + " checksum");
            }
            return address;
        }
    }

    private static Loader load(AcpiTables.Config c, int base) {
        Map<String, byte[]> files = Chipset.acpiFiles(AcpiTables.relocatable(c));
        return new Loader(files, files.get(Chipset.TABLE_LOADER), base);
    }

    @Test
    void theLoaderScriptYieldsLinkedTablesWithValidChecksums() {
        MemoryLayout layout = MemoryLayout.forRam(512L << 20);
        Loader l = load(new AcpiTables.Config(2, layout, Set.of(1, 2, 3, 4), false).forFirmware(), 0x1000);
        int[] rsdpBlob = l.blobs.get(Chipset.ACPI_RSDP);
        long rsdp = rsdpBlob[0];
        assertEquals("RSD PTR ", l.signature(rsdp, 8));
        assertEquals(0, l.sum(rsdp, 20), "RSDP checksum");
        assertEquals(0, l.sum(rsdp, 36), "RSDP extended checksum");
        long xsdt = l.table(l.mem.getLong((int) rsdp + 24), "XSDT");
        assertEquals(36 + 16, l.mem.getInt((int) xsdt + 4));
        long fadt = l.table(l.mem.getLong((int) xsdt + 36), "FACP");
        long madt = l.table(l.mem.getLong((int) xsdt + 44), "APIC");
        long facs = l.table(l.mem.getInt((int) fadt + 36), "FACS");
        long dsdt = l.table(l.mem.getInt((int) fadt + 40), "DSDT");
        // Each table is the target of exactly one pointer: OVMF installs every pointee once.
        assertEquals(List.of(facs, dsdt, fadt, madt, xsdt).stream().sorted().toList(),
                l.pointees.stream().sorted().toList());
        // The MADT has both vCPUs; the DSDT's PCI window starts where low RAM ends, as firmware assigns BARs.
        assertEquals(8 + 2 * 8 + 12 + 2 * 10 + 6 + 36, l.mem.getInt((int) madt + 4));
        byte[] d = new byte[l.mem.getInt((int) dsdt + 4)];
        l.mem.get((int) dsdt, d);
        String hex = HexFormat.of().formatHex(d);
        assertTrue(hex.contains(HexFormat.of().formatHex(Aml.dwordMemory(512L << 20, 0xFEBFFFFFL, false))));
    }

    @Test
    void tablesLinkWhereverTheFirmwarePlacesThem() {
        AcpiTables.Config c = new AcpiTables.Config(4, MemoryLayout.forRam(6 * GiB), Set.of(1), false).forFirmware();
        assertEquals(3 * GiB, c.pciMmio32Base(), "low RAM ends at 3 GiB: the VMM's usual window");
        for (int base : new int[] {0x1000, 0x7_3000}) {
            Loader l = load(c, base);
            long rsdp = l.blobs.get(Chipset.ACPI_RSDP)[0];
            int[] tables = l.blobs.get(Chipset.ACPI_TABLES);
            long xsdt = l.table(l.mem.getLong((int) rsdp + 24), "XSDT");
            long fadt = l.table(l.mem.getLong((int) xsdt + 36), "FACP");
            l.table(l.mem.getInt((int) fadt + 40), "DSDT");
            l.table(l.mem.getLong((int) xsdt + 44), "APIC");
            for (long p : l.pointees) {
                assertTrue(p >= tables[0] && p < tables[0] + tables[1], "every pointer lands in the tables blob");
            }
        }
    }
}
