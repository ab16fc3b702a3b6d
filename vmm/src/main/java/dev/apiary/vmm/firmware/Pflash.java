package dev.apiary.vmm.firmware;

import static dev.apiary.vmm.firmware.PflashRegs.*;

import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;

/**
 * A writable x8 NOR flash with the Intel/Sharp command set, as OVMF's variable store expects it at the
 * bottom of the system flash (QEMU's {@code pflash_cfi01} with {@code unit=1}). Reads in read-array mode
 * return the contents; the guest programs bytes (0x10/0x40, then the data), erases blocks (0x20, then 0xD0:
 * the block becomes 0xFF), reads the status register (0x70, cleared by 0x50), the identifier codes (0x90) and
 * the CFI query table (0x98), and goes back to read-array mode with 0xFF (also 0x00 and 0xF0).
 *
 * <p>Guest values: any offset and access size is accepted; bytes outside the device read 0xFF and are not
 * written; an erase sequence broken by another command sets the sequence-error bits and changes nothing;
 * unknown commands return to read-array mode (logged once). Programming stores the byte as written (QEMU
 * does the same; OVMF only programs erased bytes or clears bits). Lock/unlock sequences are accepted and do
 * nothing. Every program and erase is written through to the backing file, so the guest's UEFI variables
 * survive a VMM restart; a failing host write is logged and the guest still sees its data.
 */
public final class Pflash implements Device {
    private static final System.Logger LOG = System.getLogger(Pflash.class.getName());

    private enum Mode { ARRAY, STATUS, IDENTIFIER, QUERY }

    private enum Pending { NONE, PROGRAM, ERASE, LOCK }

    private final String name;
    private final byte[] data;
    private final int blockSize;
    private final FileChannel backing;
    private final byte[] cfi;
    private final IoHandler handler = new Handler();
    private Mode mode = Mode.ARRAY;
    private Pending pending = Pending.NONE;
    private int status = STATUS_READY;
    private boolean unknownLogged;
    private boolean hostWriteFailed;

    /**
     * @param contents  the flash's initial contents (copied); a multiple of {@code blockSize}
     * @param blockSize the erase block size (OVMF: 4 KiB)
     * @param backing   where programs and erases are written through (at the same offsets), or null
     */
    public Pflash(String name, byte[] contents, int blockSize, FileChannel backing) {
        if (blockSize <= 0 || Integer.bitCount(blockSize) != 1 || contents.length == 0
                || contents.length % blockSize != 0) {
            throw new IllegalArgumentException(name + ": " + contents.length + " bytes is not a whole number of "
                    + blockSize + "-byte blocks");
        }
        this.name = name;
        this.data = contents.clone();
        this.blockSize = blockSize;
        this.backing = backing;
        this.cfi = cfiTable(contents.length, blockSize, contents.length / blockSize);
    }

    @Override
    public String name() {
        return name;
    }

    /** The MMIO handler, to map at the flash's base address. */
    public IoHandler handler() {
        return handler;
    }

    public int size() {
        return data.length;
    }

    /** The current contents (a copy). */
    public synchronized byte[] contents() {
        return data.clone();
    }

    /** A machine reset: the flash leaves any command mode (its contents stay). */
    @Override
    public synchronized void reset() {
        mode = Mode.ARRAY;
        pending = Pending.NONE;
        status = STATUS_READY;
    }

    @Override
    public void stop() {
        if (backing != null) {
            try {
                backing.force(false);
                backing.close();
            } catch (IOException e) {
                LOG.log(Level.WARNING, name + ": closing the variable store: " + e);
            }
        }
    }

    synchronized long read(long offset, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = (v << 8) | readByte(offset + i);
        }
        return v;
    }

    private int readByte(long at) {
        boolean inside = at >= 0 && at < data.length;
        return switch (mode) {
            case ARRAY -> inside ? data[(int) at] & 0xFF : 0xFF;
            case STATUS -> status;
            case IDENTIFIER -> at == 0 ? MANUFACTURER_ID : at == 1 ? DEVICE_ID : 0;
            case QUERY -> at >= 0 && at < cfi.length ? cfi[(int) at] & 0xFF : 0;
        };
    }

    synchronized void write(long offset, int size, long value) {
        int command = (int) value & 0xFF;
        switch (pending) {
            case PROGRAM -> {
                pending = Pending.NONE;
                program(offset, size, value);
                mode = Mode.STATUS;
                return;
            }
            case ERASE -> {
                pending = Pending.NONE;
                mode = Mode.STATUS;
                if (command == CONFIRM) {
                    erase(offset);
                } else {
                    status |= STATUS_ERASE_ERROR | STATUS_PROGRAM_ERROR; // command sequence error
                }
                return;
            }
            case LOCK -> {
                pending = Pending.NONE;
                mode = Mode.STATUS;
                if (command != LOCK_BLOCK && command != CONFIRM) {
                    status |= STATUS_ERASE_ERROR | STATUS_PROGRAM_ERROR;
                }
                return;
            }
            default -> {
                // a first command cycle
            }
        }
        switch (command) {
            case READ_ARRAY, READ_ARRAY_ALT0, READ_ARRAY_ALT1 -> mode = Mode.ARRAY;
            case PROGRAM, PROGRAM_ALT -> {
                pending = Pending.PROGRAM;
                mode = Mode.STATUS;
            }
            case BLOCK_ERASE -> {
                pending = Pending.ERASE;
                mode = Mode.STATUS;
            }
            case LOCK_SETUP -> {
                pending = Pending.LOCK;
                mode = Mode.STATUS;
            }
            case CLEAR_STATUS -> {
                // QEMU returns to read-array mode here too; OVMF's flash detection works either way
                status = 0;
                mode = Mode.ARRAY;
            }
            case READ_STATUS -> mode = Mode.STATUS;
            case READ_IDENTIFIER -> mode = Mode.IDENTIFIER;
            case CFI_QUERY -> mode = Mode.QUERY;
            default -> {
                if (!unknownLogged) {
                    unknownLogged = true;
                    LOG.log(Level.INFO, () -> String.format("%s: unknown command 0x%02x at 0x%x, back to read array",
                            name, command, offset));
                }
                mode = Mode.ARRAY;
            }
        }
    }

    private void program(long offset, int size, long value) {
        int from = (int) Math.max(0, Math.min(offset, data.length));
        int to = (int) Math.max(0, Math.min(offset + size, data.length));
        for (int at = from; at < to; at++) {
            data[at] = (byte) (value >>> (8 * (at - offset)));
        }
        status |= STATUS_READY;
        persist(from, to - from);
    }

    private void erase(long offset) {
        status |= STATUS_READY;
        if (offset < 0 || offset >= data.length) {
            status |= STATUS_ERASE_ERROR;
            return;
        }
        int start = (int) offset & -blockSize;
        Arrays.fill(data, start, start + blockSize, (byte) 0xFF);
        persist(start, blockSize);
    }

    private void persist(int from, int length) {
        if (backing == null || length <= 0) {
            return;
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(data, from, length);
            long at = from;
            while (b.hasRemaining()) {
                at += backing.write(b, at);
            }
        } catch (IOException e) {
            if (!hostWriteFailed) {
                hostWriteFailed = true;
                LOG.log(Level.WARNING, name + ": writing the variable store failed, changes stay in memory: " + e);
            }
        }
    }

    private final class Handler implements IoHandler {
        @Override
        public long read(long offset, int size) {
            return Pflash.this.read(offset, size);
        }

        @Override
        public void write(long offset, int size, long value) {
            Pflash.this.write(offset, size, value);
        }
    }
}
