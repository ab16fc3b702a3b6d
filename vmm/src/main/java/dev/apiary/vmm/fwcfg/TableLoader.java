package dev.apiary.vmm.fwcfg;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The linker/loader script QEMU hands firmware as {@code etc/table-loader} (QEMU's
 * {@code hw/acpi/bios-linker-loader.c}; OVMF's {@code QemuLoader.h}): 128-byte little-endian commands that
 * tell the firmware to allocate fw_cfg files in guest memory, patch pointers between them once their
 * addresses are known, and recompute checksums afterwards. This way ACPI tables are built by the VMM but
 * placed by the firmware, which then installs them through its own ACPI table protocol.
 *
 * <p>Commands: {@code ALLOCATE} (file, alignment, zone: anywhere below 4 GiB or the F-segment), {@code
 * ADD_POINTER} (the little-endian integer of 1, 2, 4 or 8 bytes at an offset of one file, which holds an
 * offset into another file, gets that file's address added), {@code ADD_CHECKSUM} (the byte at an offset is
 * set so that a range sums to zero; the byte must be zero in the file, as the firmware's sum includes it).
 */
public final class TableLoader {
    /** Bytes per command. */
    public static final int COMMAND_SIZE = 128;
    /** Bytes of a file name in a command, NUL included. */
    public static final int NAME_SIZE = FwCfg.FILE_NAME_SIZE;

    public static final int CMD_ALLOCATE = 1;
    public static final int CMD_ADD_POINTER = 2;
    public static final int CMD_ADD_CHECKSUM = 3;

    /** Allocation zones: anywhere the firmware likes below 4 GiB, or the F-segment (0xF0000–0xFFFFF). */
    public static final int ZONE_HIGH = 1;
    public static final int ZONE_FSEG = 2;

    private final ByteArrayOutputStream commands = new ByteArrayOutputStream();

    /** Allocate {@code file} (a fw_cfg file) aligned to {@code alignment} bytes in {@code zone}. */
    public TableLoader allocate(String file, int alignment, int zone) {
        ByteBuffer b = command(CMD_ALLOCATE);
        name(b, 4, file);
        b.putInt(4 + NAME_SIZE, alignment);
        b.put(8 + NAME_SIZE, (byte) zone);
        return add(b);
    }

    /**
     * Add the address of {@code pointee}'s allocation to the {@code size}-byte pointer at {@code offset} in
     * {@code pointer} (which holds an offset into {@code pointee}).
     */
    public TableLoader addPointer(String pointer, String pointee, int offset, int size) {
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException("pointer size " + size);
        }
        ByteBuffer b = command(CMD_ADD_POINTER);
        name(b, 4, pointer);
        name(b, 4 + NAME_SIZE, pointee);
        b.putInt(4 + 2 * NAME_SIZE, offset);
        b.put(8 + 2 * NAME_SIZE, (byte) size);
        return add(b);
    }

    /** Set the byte at {@code resultOffset} of {@code file} so that {@code [start, start+length)} sums to 0. */
    public TableLoader addChecksum(String file, int resultOffset, int start, int length) {
        ByteBuffer b = command(CMD_ADD_CHECKSUM);
        name(b, 4, file);
        b.putInt(4 + NAME_SIZE, resultOffset);
        b.putInt(8 + NAME_SIZE, start);
        b.putInt(12 + NAME_SIZE, length);
        return add(b);
    }

    /** The script: the commands in the order given. */
    public byte[] bytes() {
        return commands.toByteArray();
    }

    private static ByteBuffer command(int type) {
        return ByteBuffer.allocate(COMMAND_SIZE).order(ByteOrder.LITTLE_ENDIAN).putInt(0, type);
    }

    private static void name(ByteBuffer b, int at, String file) {
        byte[] n = file.getBytes(StandardCharsets.US_ASCII);
        if (n.length == 0 || n.length >= NAME_SIZE) {
            throw new IllegalArgumentException("fw_cfg file names are 1-55 bytes: " + file);
        }
        b.put(at, n);
    }

    private TableLoader add(ByteBuffer b) {
        commands.writeBytes(b.array());
        return this;
    }
}
