package dev.apiary.vmm.boot;

import dev.apiary.vmm.memory.MemoryLayout;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * SMBIOS 3.0 structures describing an Apiary PC (DMTF DSP0134 3.0), as QEMU hands them to firmware in
 * {@code etc/smbios/smbios-tables} with a 64-bit entry point in {@code etc/smbios/smbios-anchor}: System (type
 * 1, with the VM's UUID), Chassis (3), one Processor per vCPU (4), the Physical Memory Array (16) with one
 * Memory Device per 16 GiB (17), one Mapped Address per RAM region (19), System Boot (32) and End-of-Table
 * (127). The firmware adds its own BIOS Information (type 0) and places everything.
 */
public final class SmbiosTables {
    public static final String MANUFACTURER = "Apiary";
    public static final String PRODUCT = "Apiary PC";
    /** Size of the 64-bit entry point structure (DSP0134 5.2.2). */
    public static final int ANCHOR_LENGTH = 0x18;
    /** One Memory Device (type 17) per this much RAM, as QEMU does. */
    static final long DIMM_BYTES = 16L << 30;

    private SmbiosTables() {}

    /** The structure table and the entry point that describes it. */
    public record Tables(byte[] structures, byte[] anchor) {}

    /**
     * @param cpus   vCPUs (one Processor structure each)
     * @param layout the RAM the machine has
     * @param uuid   the system UUID (type 1), stable for the VM
     */
    public static Tables build(int cpus, MemoryLayout layout, UUID uuid) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(system(uuid));
        out.writeBytes(chassis());
        for (int i = 0; i < cpus; i++) {
            out.writeBytes(processor(i));
        }
        long ram = layout.ramBytes();
        int dimms = (int) ((ram + DIMM_BYTES - 1) / DIMM_BYTES);
        out.writeBytes(memoryArray(ram, dimms));
        for (int i = 0; i < dimms; i++) {
            out.writeBytes(memoryDevice(i, Math.min(DIMM_BYTES, ram - i * DIMM_BYTES)));
        }
        long[] regions = layout.ramRegions();
        for (int i = 0; i < regions.length; i += 2) {
            out.writeBytes(mappedAddress(i / 2, regions[i], regions[i + 1]));
        }
        out.writeBytes(structure(32, 0x2000, 11, b -> { }, List.of())); // no errors detected at boot
        out.writeBytes(structure(127, 0x7F00, 4, b -> { }, List.of()));
        byte[] s = out.toByteArray();
        return new Tables(s, anchor(s.length));
    }

    /** DSP0134 5.2.2: "_SM3_", checksum, length, version 3.0, entry point revision 1, table maximum size. */
    static byte[] anchor(int tableSize) {
        ByteBuffer b = ByteBuffer.allocate(ANCHOR_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put("_SM3_".getBytes(StandardCharsets.US_ASCII));
        b.put(6, (byte) ANCHOR_LENGTH);
        b.put(7, (byte) 3);
        b.put(8, (byte) 0);
        b.put(9, (byte) 0); // docrev
        b.put(10, (byte) 1); // entry point revision: 3.0
        b.putInt(12, tableSize);
        b.putLong(16, 0); // the firmware fills in where it places the table
        byte[] a = b.array();
        a[5] = AcpiTables.checksum(a, 0, ANCHOR_LENGTH);
        return a;
    }

    @FunctionalInterface
    private interface Fields {
        void put(ByteBuffer formatted);
    }

    /**
     * One structure: the 4-byte header (type, length, handle), the formatted area filled by {@code fields}
     * (offsets from the structure's start), then the strings, each NUL-terminated, and a final NUL (two NULs
     * when there are none), DSP0134 6.1.
     */
    private static byte[] structure(int type, int handle, int length, Fields fields, List<String> strings) {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, (byte) type).put(1, (byte) length).putShort(2, (short) handle);
        fields.put(b);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(b.array());
        for (String s : strings) {
            out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
            out.write(0);
        }
        if (strings.isEmpty()) {
            out.write(0);
        }
        out.write(0);
        return out.toByteArray();
    }

    /** Type 1 (7.2), 27 bytes: manufacturer, product, version; the UUID in SMBIOS byte order. */
    static byte[] system(UUID uuid) {
        return structure(1, 0x0100, 0x1B, b -> {
            b.put(4, (byte) 1).put(5, (byte) 2).put(6, (byte) 3).put(7, (byte) 0);
            // DSP0134 7.2.1: the first three fields are little-endian, the rest as written
            long msb = uuid.getMostSignificantBits();
            b.putInt(8, (int) (msb >>> 32)).putShort(12, (short) (msb >>> 16)).putShort(14, (short) msb);
            b.order(ByteOrder.BIG_ENDIAN).putLong(16, uuid.getLeastSignificantBits()).order(ByteOrder.LITTLE_ENDIAN);
            b.put(24, (byte) 6); // wake-up type: power switch
        }, List.of(MANUFACTURER, PRODUCT, "1"));
    }

    /** Type 3 (7.4), 22 bytes: type "other", every state safe, no contained elements. */
    static byte[] chassis() {
        return structure(3, 0x0300, 0x16, b -> {
            b.put(4, (byte) 1).put(5, (byte) 0x01).put(6, (byte) 2);
            b.put(9, (byte) 3).put(10, (byte) 3).put(11, (byte) 3).put(12, (byte) 2); // safe, safe, safe, none
        }, List.of(MANUFACTURER, "1"));
    }

    /** Type 4 (7.5), 42 bytes: a central processor, enabled, one core and thread; speeds unknown. */
    static byte[] processor(int index) {
        return structure(4, 0x0400 + index, 0x2A, b -> {
            b.put(4, (byte) 1); // socket designation
            b.put(5, (byte) 3); // central processor
            b.put(6, (byte) 0x01); // family: other
            b.put(7, (byte) 2); // manufacturer
            b.put(16, (byte) 3); // version
            b.put(24, (byte) 0x41); // status: socket populated, CPU enabled
            b.put(25, (byte) 0x01); // upgrade: other
            b.putShort(26, (short) 0xFFFF).putShort(28, (short) 0xFFFF).putShort(30, (short) 0xFFFF); // no caches
            b.put(35, (byte) 1).put(36, (byte) 1).put(37, (byte) 1); // cores, enabled cores, threads
            b.putShort(38, (short) 0x0004); // characteristics: 64-bit capable
            b.putShort(40, (short) 0x01); // family 2: other
        }, List.of("CPU " + index, MANUFACTURER, "Apiary vCPU"));
    }

    /** Type 16 (7.17), 23 bytes: system memory, no error correction, its capacity in KiB (extended above 2 TiB). */
    static byte[] memoryArray(long ram, int devices) {
        return structure(16, 0x1000, 0x17, b -> {
            b.put(4, (byte) 0x01).put(5, (byte) 0x03).put(6, (byte) 0x03); // other, system memory, none
            long kib = ram >>> 10;
            b.putInt(7, kib < 0x8000_0000L ? (int) kib : 0x8000_0000);
            b.putShort(11, (short) 0xFFFE); // no error information
            b.putShort(13, (short) devices);
            b.putLong(15, kib < 0x8000_0000L ? 0 : ram);
        }, List.of());
    }

    /** Type 17 (7.18), 40 bytes: a DIMM of this size in MiB (extended size above 32 GiB - 1 MiB), type RAM. */
    static byte[] memoryDevice(int index, long bytes) {
        return structure(17, 0x1100 + index, 0x28, b -> {
            b.putShort(4, (short) 0x1000).putShort(6, (short) 0xFFFE);
            b.putShort(8, (short) 0xFFFF).putShort(10, (short) 0xFFFF); // widths unknown
            long mib = bytes >>> 20;
            b.putShort(12, mib < 0x7FFF ? (short) mib : (short) 0x7FFF);
            b.put(14, (byte) 0x09); // DIMM
            b.put(16, (byte) 1); // device locator
            b.put(18, (byte) 0x07); // RAM
            b.putShort(19, (short) 0x0002); // type detail: other
            b.put(23, (byte) 2); // manufacturer
            b.putInt(28, mib < 0x7FFF ? 0 : (int) mib);
        }, List.of("DIMM " + index, MANUFACTURER));
    }

    /** Type 19 (7.20), 31 bytes: one RAM region in KiB (extended addresses when the region reaches 4 TiB). */
    static byte[] mappedAddress(int index, long start, long size) {
        return structure(19, 0x1300 + index, 0x1F, b -> {
            long first = start >>> 10;
            long last = (start + size - 1) >>> 10;
            boolean extended = last >= 0xFFFF_FFFFL;
            b.putInt(4, extended ? -1 : (int) first).putInt(8, extended ? -1 : (int) last);
            b.putShort(12, (short) 0x1000);
            b.put(14, (byte) 1); // partition width
            if (extended) {
                b.putLong(15, start).putLong(23, start + size - 1);
            }
        }, List.of());
    }

    /** The structures' types in order (for tests and logs). */
    public static List<Integer> types(byte[] structures) {
        List<Integer> out = new ArrayList<>();
        int at = 0;
        while (at + 4 <= structures.length) {
            int type = structures[at] & 0xFF;
            out.add(type);
            int end = at + (structures[at + 1] & 0xFF);
            while (end + 1 < structures.length && (structures[end] != 0 || structures[end + 1] != 0)) {
                end++;
            }
            at = end + 2;
            if (type == 127) {
                break;
            }
        }
        return out;
    }
}
