package dev.apiary.vmm.boot;

import static dev.apiary.vmm.boot.Aml.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import dev.apiary.vmm.memory.MemoryLayout;
import dev.apiary.vmm.pci.PciInterruptRouting;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The ACPI tables of an Apiary PC (ACPI 6.0): RSDP, XSDT and RSDT, FADT (full, not hardware-reduced: PIIX4 PM
 * registers at 0xB000, SCI on IRQ 9, reset through 0xCF9), FACS, MADT (one local APIC per vCPU, the
 * IOAPIC, the ISA overrides) and a DSDT in AML (the PCI root bridge with its windows and {@code _PRT}, the
 * COM ports, the RTC, the 8042, {@code \_S5}). Built in memory for a machine description, then written to
 * the reserved area 0xE0000–0xFFFFF with the RSDP first, where both {@code acpi_rsdp_addr} and a legacy
 * RSDP scan find it.
 */
public final class AcpiTables {
    public static final String OEM_ID = "APIARY";
    public static final String OEM_TABLE_ID = "APIARYPC";
    public static final int OEM_REVISION = 1;
    public static final String CREATOR_ID = "APRY";
    public static final int CREATOR_REVISION = 1;

    /** PIIX4 PM register block (the chipset's PM base, DESIGN.md). */
    public static final int PM_BASE = 0xB000;
    public static final int PM1A_EVT_BLK = PM_BASE;
    public static final int PM1A_CNT_BLK = PM_BASE + 4;
    public static final int PM_TMR_BLK = PM_BASE + 8;
    /** ACPI SCI: ISA IRQ 9, level-triggered, active high (identity-mapped to GSI 9). */
    public static final int SCI_IRQ = 9;
    /** The PCI reset control register and the value that asks for a hard reset (PIIX3 RCR: SYS_RST|RST_CPU). */
    public static final int RESET_PORT = 0xCF9;
    public static final int RESET_VALUE = 0x06;
    /** \_S5 SLP_TYP: the value the PIIX4 PM treats as "power off" when written with SLP_EN. */
    public static final int S5_SLP_TYP = 0;
    public static final int IOAPIC_PINS = 24;
    public static final int MAX_CPUS = 64;

    /** The ISA COM ports: base port and IRQ of COM1–COM4. */
    public static final int[] COM_PORT = {0x3F8, 0x2F8, 0x3E8, 0x2E8};
    public static final int[] COM_IRQ = {4, 3, 4, 3};

    /**
     * What the tables describe.
     *
     * @param cpus          vCPUs (1–64): APIC IDs and ACPI processor UIDs 0..cpus-1
     * @param layout        the memory layout (PCI MMIO windows)
     * @param comPorts      which of COM1–COM4 (1–4) exist; the others get {@code _STA} 0
     * @param i8042         whether the machine has the 8042 keyboard controller at 0x60/0x64 (keyboard on IRQ 1,
     *                      mouse on IRQ 12)
     */
    public record Config(int cpus, MemoryLayout layout, Set<Integer> comPorts, boolean i8042, long pciMmio32Base) {
        /** The VMM's own PCI window: 3 GiB up to the IOAPIC (where direct boots and the VMM place BARs). */
        public Config(int cpus, MemoryLayout layout, Set<Integer> comPorts, boolean i8042) {
            this(cpus, layout, comPorts, i8042, MemoryLayout.PCI_MMIO32_BASE);
        }

        /**
         * The same machine booted by firmware that assigns BARs itself: the 32-bit PCI window is everything from
         * the end of low RAM up to the IOAPIC, as QEMU's {@code pc} describes it, so wherever OVMF's PCI
         * aperture lies (2 GiB, or the end of low RAM above that), the BARs it assigns are inside the window.
         */
        public Config forFirmware() {
            return new Config(cpus, layout, comPorts, i8042, layout.lowRamBytes());
        }

        public Config {
            if (pciMmio32Base < layout.lowRamBytes() || pciMmio32Base >= MemoryLayout.PCI_MMIO32_END) {
                throw new IllegalArgumentException(String.format("PCI window base 0x%x overlaps RAM or the IOAPIC",
                        pciMmio32Base));
            }
            if (cpus < 1 || cpus > MAX_CPUS) {
                throw new IllegalArgumentException("ACPI tables describe 1–64 vCPUs, not " + cpus);
            }
            for (int p : comPorts) {
                if (p < 1 || p > 4) {
                    throw new IllegalArgumentException("COM ports are 1–4, not " + p);
                }
            }
            comPorts = Collections.unmodifiableSet(new TreeSet<>(comPorts));
        }

        /** The IOAPIC's ID: the first ID after the vCPUs' APIC IDs, so no APIC ID is shared. */
        public int ioapicId() {
            return cpus;
        }
    }

    /** One table as placed in guest memory. */
    public record Table(String signature, long address, byte[] bytes) {
        public int length() {
            return bytes.length;
        }
    }

    private final List<Table> tables;

    private AcpiTables(List<Table> tables) {
        this.tables = List.copyOf(tables);
    }

    /** Builds the tables for this machine, placed from {@link BootLayout#ACPI}. */
    public static AcpiTables build(Config c) {
        byte[] dsdt = dsdt(c);
        byte[] madt = madt(c);

        // Placement: RSDP (16-byte aligned, first), FACS (64-byte aligned), then the rest 16-byte aligned.
        long rsdpAt = BootLayout.ACPI;
        long facsAt = align(rsdpAt + RSDP_LENGTH, 64);
        long dsdtAt = align(facsAt + FACS_LENGTH, 16);
        long fadtAt = align(dsdtAt + dsdt.length, 16);
        long madtAt = align(fadtAt + FADT_LENGTH, 16);
        long xsdtAt = align(madtAt + madt.length, 16);
        long rsdtAt = align(xsdtAt + HEADER_LENGTH + 2 * 8, 16);
        long end = rsdtAt + HEADER_LENGTH + 2 * 4;
        if (end > BootLayout.ACPI_END) {
            throw new IllegalStateException("ACPI tables need " + (end - rsdpAt) + " bytes; the area holds "
                    + (BootLayout.ACPI_END - BootLayout.ACPI));
        }
        List<Table> t = new ArrayList<>();
        t.add(new Table("RSD PTR ", rsdpAt, rsdp(xsdtAt, rsdtAt)));
        t.add(new Table("FACS", facsAt, facs()));
        t.add(new Table("DSDT", dsdtAt, dsdt));
        t.add(new Table("FACP", fadtAt, fadt(c, facsAt, dsdtAt)));
        t.add(new Table("APIC", madtAt, madt));
        t.add(new Table("XSDT", xsdtAt, xsdt(fadtAt, madtAt)));
        t.add(new Table("RSDT", rsdtAt, rsdt(fadtAt, madtAt)));
        return new AcpiTables(t);
    }

    /** The two blobs firmware allocates through the loader script: the tables, and the RSDP on its own. */
    public enum Blob { TABLES, RSDP }

    /** A pointer field: the {@code size} bytes at {@code offset} of {@code in} hold an offset into {@code to}. */
    public record Pointer(Blob in, int offset, int size, Blob to) {}

    /** A checksum byte at {@code resultOffset} of {@code in} that makes {@code [start, start+length)} sum to 0. */
    public record Checksum(Blob in, int resultOffset, int start, int length) {}

    /**
     * The tables for firmware to place (QEMU's {@code etc/acpi/tables} and {@code etc/acpi/rsdp}): the RSDP on its
     * own, everything else in one blob, every pointer an offset into its target blob, every checksum byte 0.
     * Each table is the target of exactly one pointer (OVMF installs every pointee through its ACPI table
     * protocol, which builds its own RSDP, XSDT and RSDT and fills the FADT's 64-bit fields): FADT → FACS and
     * DSDT through the 32-bit fields, XSDT → FADT and MADT, RSDP → XSDT. There is no RSDT.
     */
    public record Relocatable(byte[] tables, byte[] rsdp, List<Pointer> pointers, List<Checksum> checksums) {}

    /** The tables for {@code c} as firmware places them (see {@link Relocatable}). */
    public static Relocatable relocatable(Config c) {
        byte[] dsdt = dsdt(c);
        byte[] madt = madt(c);
        int facsAt = 0;
        int dsdtAt = (int) align(facsAt + FACS_LENGTH, 16);
        int fadtAt = (int) align(dsdtAt + dsdt.length, 16);
        int madtAt = (int) align(fadtAt + FADT_LENGTH, 16);
        int xsdtAt = (int) align(madtAt + madt.length, 16);
        int end = xsdtAt + HEADER_LENGTH + 2 * 8;
        byte[] fadt = fadt(c, facsAt, dsdtAt);
        ByteBuffer f = ByteBuffer.wrap(fadt).order(ByteOrder.LITTLE_ENDIAN);
        f.putLong(FADT_X_FIRMWARE_CTRL, 0).putLong(FADT_X_DSDT, 0);
        byte[] xsdt = xsdt(fadtAt, madtAt);
        byte[] blob = new byte[end];
        List<Checksum> sums = new ArrayList<>();
        System.arraycopy(facs(), 0, blob, facsAt, FACS_LENGTH); // the FACS has no checksum
        place(blob, dsdt, dsdtAt, sums);
        place(blob, fadt, fadtAt, sums);
        place(blob, madt, madtAt, sums);
        place(blob, xsdt, xsdtAt, sums);
        byte[] rsdp = rsdp(xsdtAt, 0);
        rsdp[8] = 0;
        rsdp[32] = 0;
        sums.add(new Checksum(Blob.RSDP, 8, 0, 20));
        sums.add(new Checksum(Blob.RSDP, 32, 0, RSDP_LENGTH));
        List<Pointer> ptrs = List.of(
                new Pointer(Blob.TABLES, fadtAt + FADT_FIRMWARE_CTRL, 4, Blob.TABLES),
                new Pointer(Blob.TABLES, fadtAt + FADT_DSDT, 4, Blob.TABLES),
                new Pointer(Blob.TABLES, xsdtAt + HEADER_LENGTH, 8, Blob.TABLES),
                new Pointer(Blob.TABLES, xsdtAt + HEADER_LENGTH + 8, 8, Blob.TABLES),
                new Pointer(Blob.RSDP, RSDP_XSDT, 8, Blob.TABLES));
        return new Relocatable(blob, rsdp, ptrs, List.copyOf(sums));
    }

    /** Copies a table into the blob with its checksum byte zeroed, and notes the checksum for the firmware. */
    private static void place(byte[] blob, byte[] table, int at, List<Checksum> sums) {
        System.arraycopy(table, 0, blob, at, table.length);
        blob[at + 9] = 0; // the firmware's sum includes this byte
        sums.add(new Checksum(Blob.TABLES, at + 9, at, table.length));
    }

    /** All tables, RSDP first. */
    public List<Table> tables() {
        return tables;
    }

    /** The table with this signature ({@code "FACP"} for the FADT, {@code "APIC"} for the MADT). */
    public Table table(String signature) {
        return tables.stream().filter(x -> x.signature().equals(signature)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no table " + signature));
    }

    public long rsdpAddress() {
        return tables.get(0).address();
    }

    /** Writes every table into guest RAM (the area is zeroed first). */
    public void writeTo(GuestMemory mem) throws GuestMemoryException {
        mem.fill(BootLayout.ACPI, BootLayout.ACPI_END - BootLayout.ACPI, (byte) 0);
        for (Table t : tables) {
            mem.write(t.address(), t.bytes());
        }
    }

    // ------------------------------------------------------------------ headers and checksums

    static final int HEADER_LENGTH = 36;
    static final int RSDP_LENGTH = 36;
    static final int FACS_LENGTH = 64;
    static final int FADT_LENGTH = 276;
    static final int FADT_FIRMWARE_CTRL = 36;
    static final int FADT_DSDT = 40;
    static final int FADT_X_FIRMWARE_CTRL = 132;
    static final int FADT_X_DSDT = 140;
    static final int RSDP_XSDT = 24;

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void ascii(ByteBuffer b, int at, String s, int width) {
        byte[] a = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            b.put(at + i, i < a.length ? a[i] : (byte) ' ');
        }
    }

    /** The byte that makes {@code b[from, to)} sum to 0 mod 256, given that it is currently 0. */
    static byte checksum(byte[] b, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += b[i];
        }
        return (byte) -sum;
    }

    /** A system description table: the standard 36-byte header, then {@code body}; checksum filled in. */
    static byte[] sdt(String signature, int revision, byte[] body) {
        ByteBuffer b = le(HEADER_LENGTH + body.length);
        ascii(b, 0, signature, 4);
        b.putInt(4, HEADER_LENGTH + body.length);
        b.put(8, (byte) revision);
        ascii(b, 10, OEM_ID, 6);
        ascii(b, 16, OEM_TABLE_ID, 8);
        b.putInt(24, OEM_REVISION);
        ascii(b, 28, CREATOR_ID, 4);
        b.putInt(32, CREATOR_REVISION);
        b.put(HEADER_LENGTH, body);
        byte[] a = b.array();
        a[9] = checksum(a, 0, a.length);
        return a;
    }

    // ------------------------------------------------------------------ RSDP, XSDT, RSDT, FACS

    /** ACPI 6.0 §5.2.5.3: revision 2; checksum over the first 20 bytes, extended checksum over all 36. */
    static byte[] rsdp(long xsdt, long rsdt) {
        ByteBuffer b = le(RSDP_LENGTH);
        ascii(b, 0, "RSD PTR ", 8);
        ascii(b, 9, OEM_ID, 6);
        b.put(15, (byte) 2);
        b.putInt(16, (int) rsdt);
        b.putInt(20, RSDP_LENGTH);
        b.putLong(24, xsdt);
        byte[] a = b.array();
        a[8] = checksum(a, 0, 20);
        a[32] = checksum(a, 0, RSDP_LENGTH);
        return a;
    }

    static byte[] xsdt(long... entries) {
        ByteBuffer b = le(8 * entries.length);
        for (int i = 0; i < entries.length; i++) {
            b.putLong(8 * i, entries[i]);
        }
        return sdt("XSDT", 1, b.array());
    }

    static byte[] rsdt(long... entries) {
        ByteBuffer b = le(4 * entries.length);
        for (int i = 0; i < entries.length; i++) {
            b.putInt(4 * i, (int) entries[i]);
        }
        return sdt("RSDT", 1, b.array());
    }

    /** ACPI 6.0 §5.2.10: no checksum; version 2; no S4BIOS, no 64-bit wake (we have no firmware waking vector). */
    static byte[] facs() {
        ByteBuffer b = le(FACS_LENGTH);
        ascii(b, 0, "FACS", 4);
        b.putInt(4, FACS_LENGTH);
        b.put(32, (byte) 2);
        return b.array();
    }

    // ------------------------------------------------------------------ FADT

    // FADT flags (ACPI 6.0 table 5-35).
    static final int FADT_WBINVD = 1 << 0;
    static final int FADT_PROC_C1 = 1 << 2;
    static final int FADT_SLP_BUTTON = 1 << 5; // no fixed-feature sleep button
    static final int FADT_RESET_REG_SUP = 1 << 10;
    static final int FADT_HW_REDUCED = 1 << 20;
    // IA-PC boot architecture flags (table 5-36).
    static final int BOOT_LEGACY_DEVICES = 1 << 0;
    static final int BOOT_8042 = 1 << 1;
    static final int BOOT_VGA_NOT_PRESENT = 1 << 2;

    static final int GAS_SYSTEM_IO = 1;

    /** A Generic Address Structure (§5.2.3.2). Access size 0 = legacy (as wide as the register). */
    private static void gas(ByteBuffer b, int at, int space, int bitWidth, int accessSize, long address) {
        b.put(at, (byte) space);
        b.put(at + 1, (byte) bitWidth);
        b.put(at + 2, (byte) 0);
        b.put(at + 3, (byte) accessSize);
        b.putLong(at + 4, address);
    }

    /** FADT revision 6 (ACPI 6.0 §5.2.9), 276 bytes. Offsets are from the start of the table. */
    static byte[] fadt(Config c, long facs, long dsdt) {
        ByteBuffer b = le(FADT_LENGTH - HEADER_LENGTH);
        int h = HEADER_LENGTH; // field offsets below are table offsets; the body starts after the header
        b.putInt(36 - h, (int) facs); // FIRMWARE_CTRL
        b.putInt(40 - h, (int) dsdt); // DSDT
        b.put(45 - h, (byte) 0); // Preferred_PM_Profile: unspecified
        b.putShort(46 - h, (short) SCI_IRQ); // SCI_INT
        b.putInt(48 - h, 0); // SMI_CMD: none, ACPI is always enabled (no SMM)
        b.putInt(56 - h, PM1A_EVT_BLK);
        b.putInt(64 - h, PM1A_CNT_BLK);
        b.putInt(76 - h, PM_TMR_BLK);
        b.putInt(80 - h, 0); // GPE0_BLK: none
        b.put(88 - h, (byte) 4); // PM1_EVT_LEN
        b.put(89 - h, (byte) 2); // PM1_CNT_LEN
        b.put(91 - h, (byte) 4); // PM_TMR_LEN
        b.put(92 - h, (byte) 0); // GPE0_BLK_LEN
        b.putShort(96 - h, (short) 101); // P_LVL2_LAT > 100: C2 not supported
        b.putShort(98 - h, (short) 1001); // P_LVL3_LAT > 1000: C3 not supported
        b.put(108 - h, (byte) 0x32); // CENTURY: the RTC keeps the century in CMOS 0x32, as PC firmware does
        int bootArch = BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT | (c.i8042() ? BOOT_8042 : 0);
        b.putShort(109 - h, (short) bootArch);
        // TMR_VAL_EXT clear: a 24-bit PM timer. PWR_BUTTON clear: the power button is a fixed feature.
        b.putInt(112 - h, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
        gas(b, 116 - h, GAS_SYSTEM_IO, 8, 1, RESET_PORT); // RESET_REG
        b.put(128 - h, (byte) RESET_VALUE);
        b.put(131 - h, (byte) 0); // FADT minor version: 6.0
        b.putLong(132 - h, facs); // X_FIRMWARE_CTRL (same as FIRMWARE_CTRL, so OSPM sees one FACS)
        b.putLong(140 - h, dsdt); // X_DSDT
        gas(b, 148 - h, GAS_SYSTEM_IO, 32, 0, PM1A_EVT_BLK); // X_PM1a_EVT_BLK
        gas(b, 172 - h, GAS_SYSTEM_IO, 16, 0, PM1A_CNT_BLK); // X_PM1a_CNT_BLK
        gas(b, 208 - h, GAS_SYSTEM_IO, 32, 0, PM_TMR_BLK); // X_PM_TMR_BLK
        // X_PM1b_*, X_PM2_CNT, X_GPE0/1, sleep control/status: all zero (not present).
        return sdt("FACP", 6, b.array());
    }

    // ------------------------------------------------------------------ MADT

    static final int MADT_PCAT_COMPAT = 1;
    static final int MADT_LAPIC = 0;
    static final int MADT_IOAPIC = 1;
    static final int MADT_ISO = 2;
    static final int MADT_LAPIC_NMI = 4;
    /** MPS INTI flags: polarity bits 0–1 (1 active high, 3 active low), trigger bits 2–3 (1 edge, 3 level). */
    static final int INTI_EDGE_HIGH = 0x0005;
    static final int INTI_LEVEL_HIGH = 0x000D;

    /** MADT revision 4 (ACPI 6.0 §5.2.12). */
    static byte[] madt(Config c) {
        int size = 8 + 8 * c.cpus() + 12 + 2 * 10 + 6;
        ByteBuffer b = le(size);
        b.putInt(0, (int) MemoryLayout.LAPIC_BASE);
        b.putInt(4, MADT_PCAT_COMPAT); // dual 8259s present (KVM's in-kernel PIC, or intc's Pic8259Pair)
        int at = 8;
        for (int i = 0; i < c.cpus(); i++) {
            b.put(at, (byte) MADT_LAPIC).put(at + 1, (byte) 8).put(at + 2, (byte) i).put(at + 3, (byte) i);
            b.putInt(at + 4, 1); // enabled
            at += 8;
        }
        b.put(at, (byte) MADT_IOAPIC).put(at + 1, (byte) 12).put(at + 2, (byte) c.ioapicId());
        b.putInt(at + 4, (int) MemoryLayout.IOAPIC_BASE);
        b.putInt(at + 8, 0); // GSI base
        at += 12;
        at = iso(b, at, 0, 2, INTI_EDGE_HIGH); // the PIT's IRQ 0 is wired to IOAPIC pin 2
        at = iso(b, at, SCI_IRQ, SCI_IRQ, INTI_LEVEL_HIGH); // the SCI is level-triggered, active high
        b.put(at, (byte) MADT_LAPIC_NMI).put(at + 1, (byte) 6).put(at + 2, (byte) 0xFF); // all processors
        b.putShort(at + 3, (short) INTI_EDGE_HIGH);
        b.put(at + 5, (byte) 1); // LINT1
        return sdt("APIC", 4, b.array());
    }

    private static int iso(ByteBuffer b, int at, int irq, int gsi, int flags) {
        b.put(at, (byte) MADT_ISO).put(at + 1, (byte) 10).put(at + 2, (byte) 0).put(at + 3, (byte) irq);
        b.putInt(at + 4, gsi);
        b.putShort(at + 8, (short) flags);
        return at + 10;
    }

    // ------------------------------------------------------------------ DSDT

    /** DSDT revision 2: 64-bit AML integers. */
    static byte[] dsdt(Config c) {
        List<byte[]> pci = new ArrayList<>();
        // Conventional PCI (i440FX): no PNP0A08 and no _OSC. No _ADR either: a device object has a _HID or an
        // _ADR, not both (ACPI 6.0 §6.1; iasl warns), and _BBN/_UID already say "bus 0, first root bridge".
        pci.add(name("_HID", eisaId("PNP0A03")));
        pci.add(name("_BBN", integer(0)));
        pci.add(name("_UID", integer(0)));
        pci.add(name("_CRS", pciCrs(c.layout(), c.pciMmio32Base())));
        pci.add(name("_PRT", prt()));
        for (int i = 0; i < 4; i++) {
            pci.add(device("COM" + (i + 1),
                    name("_HID", eisaId("PNP0501")),
                    name("_UID", integer(i + 1)),
                    name("_STA", integer(c.comPorts().contains(i + 1) ? 0x0F : 0)),
                    name("_CRS", resourceTemplate(io(COM_PORT[i], COM_PORT[i], 1, 8), irqNoFlags(COM_IRQ[i])))));
        }
        pci.add(device("RTC",
                name("_HID", eisaId("PNP0B00")),
                name("_CRS", resourceTemplate(io(0x70, 0x70, 1, 2), irqNoFlags(8)))));
        if (c.i8042()) {
            pci.add(device("KBD",
                    name("_HID", eisaId("PNP0303")),
                    name("_CRS", resourceTemplate(io(0x60, 0x60, 1, 1), io(0x64, 0x64, 1, 1), irqNoFlags(1)))));
            // the 8042's auxiliary port: Linux's i8042 driver finds the controller through these two PNP devices
            pci.add(device("MOU",
                    name("_HID", eisaId("PNP0F13")),
                    name("_CRS", resourceTemplate(irqNoFlags(12)))));
        }
        List<byte[]> sb = new ArrayList<>();
        sb.add(device("PCI0", pci.toArray(byte[][]::new)));
        for (int i = 0; i < c.cpus(); i++) {
            sb.add(device(String.format("C%03X", i), name("_HID", string("ACPI0007")), name("_UID", integer(i))));
        }
        byte[] body = concat(
                // The OS tells us PIC (0) or APIC (1) mode; _PRT is APIC-only, so there is nothing to switch.
                method("\\_PIC", 1, false),
                name("\\_S5", pkg(integer(S5_SLP_TYP), integer(S5_SLP_TYP), integer(0), integer(0))),
                scope("\\_SB", sb.toArray(byte[][]::new)));
        return sdt("DSDT", 2, body);
    }

    /** The root bridge's resources: all buses, the config ports, I/O around them, both MMIO windows. */
    static byte[] pciCrs(MemoryLayout layout, long mmio32Base) {
        long mmio64 = layout.pciMmio64Base();
        return resourceTemplate(
                wordBusNumber(0x00, 0xFF),
                io(0xCF8, 0xCF8, 1, 8),
                wordIo(0x0000, 0x0CF7),
                wordIo(0x0D00, 0xFFFF),
                dwordMemory(mmio32Base, MemoryLayout.PCI_MMIO32_END - 1, false),
                qwordMemory(mmio64, mmio64 + MemoryLayout.PCI_MMIO64_SIZE - 1, false));
    }

    /**
     * {@code _PRT} for APIC mode: every slot and pin of bus 0 straight to its GSI (Source 0 means "the Source
     * Index is a GSI"), from the same function the VMM wires INTx with.
     */
    static byte[] prt() {
        byte[][] entries = new byte[32 * 4][];
        for (int slot = 0; slot < 32; slot++) {
            for (int pin = 0; pin < 4; pin++) {
                entries[slot * 4 + pin] = pkg(dword(((long) slot << 16) | 0xFFFF), integer(pin), integer(0),
                        integer(PciInterruptRouting.gsi(slot, pin + 1)));
            }
        }
        return pkg(entries);
    }

    private static long align(long v, long a) {
        return (v + a - 1) & -a;
    }
}
