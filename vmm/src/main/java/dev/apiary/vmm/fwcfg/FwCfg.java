package dev.apiary.vmm.fwcfg;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * QEMU's firmware configuration device (fw_cfg) on the x86 I/O ports, as QEMU's {@code docs/specs/fw_cfg.rst}
 * describes it: the selector register at 0x510 (16-bit, little-endian), the data register at 0x511 (8-bit,
 * reads only: data writes are ignored, as in QEMU since 2.4) and the DMA address register at 0x514 (64-bit,
 * big-endian; on the I/O port it is written as two 32-bit halves, the high half at 0x514 stored, the low half
 * at 0x518 starting the transfer; an aligned 64-bit write does both).
 *
 * <p>Items: {@link #SIGNATURE} ("QEMU"), {@link #ID} (traditional interface + DMA), the file directory
 * ({@link #FILE_DIR}: a big-endian count, then per file a big-endian size, select key, reserved half-word and
 * a NUL-padded 56-byte name, sorted by name as QEMU does) and whatever the machine adds. Legacy numeric items
 * are little-endian; named files carry their own formats. Reading past the end of an item, or an item that
 * does not exist, reads zeros.
 *
 * <p>DMA ({@code FWCfgDmaAccess}: big-endian control, length, address): control bits error (0), read (1),
 * skip (2), select (3, key in bits 31:16) and write (4). Read copies the item to guest RAM and zero-fills
 * what lies past its end; skip advances the offset; write is allowed only for files registered writable and
 * only when the whole remaining length fits inside the item (as QEMU). Every guest value is checked: the
 * descriptor and the buffer must be guest RAM ({@link GuestMemory#isValid}), lengths are bounded by
 * {@link #MAX_DMA_LENGTH}; anything wrong sets the error bit in the descriptor's control word (if the
 * descriptor itself is writable RAM) and nothing else happens. A guest value never throws. Transfers run
 * synchronously on the vCPU thread that wrote the address, so the guest sees control = 0 as soon as its
 * {@code out} returns.
 */
public final class FwCfg implements Device {
    private static final System.Logger LOG = System.getLogger(FwCfg.class.getName());

    public static final int SELECTOR_PORT = 0x510;
    public static final int DATA_PORT = 0x511;
    public static final int DMA_PORT = 0x514;

    /** Selector keys (QEMU's {@code FW_CFG_*}). */
    public static final int SIGNATURE = 0x00;
    public static final int ID = 0x01;
    public static final int UUID = 0x02;
    public static final int RAM_SIZE = 0x03;
    public static final int NOGRAPHIC = 0x04;
    public static final int NB_CPUS = 0x05;
    public static final int MAX_CPUS = 0x0F;
    public static final int FILE_DIR = 0x19;
    public static final int FILE_FIRST = 0x20;
    /** Selector bit 14: write mode (meaningless since writes go through DMA). Bit 15: architecture-specific. */
    public static final int KEY_MASK = 0x3FFF | 0x8000;

    /** FW_CFG_ID bits: the traditional port interface, the DMA interface. */
    public static final int ID_TRADITIONAL = 1;
    public static final int ID_DMA = 2;

    /** FWCfgDmaAccess.control bits. */
    public static final int DMA_ERROR = 0x01;
    public static final int DMA_READ = 0x02;
    public static final int DMA_SKIP = 0x04;
    public static final int DMA_SELECT = 0x08;
    public static final int DMA_WRITE = 0x10;
    /** "QEMU CFG", what the DMA address register reads (big-endian: the bytes in address order). */
    public static final long DMA_SIGNATURE = 0x51454d5520434647L;
    /** Size of an FWCfgDmaAccess. */
    public static final int DMA_ACCESS_SIZE = 16;
    /** The longest transfer one descriptor may ask for; longer ones fail with the error bit. */
    public static final int MAX_DMA_LENGTH = 64 << 20;
    /** Bytes per name in the file directory, NUL included. */
    public static final int FILE_NAME_SIZE = 56;
    public static final int MAX_FILES = FILE_NAME_SIZE * 16;

    /** What a writable file does when the guest has written it (on the vCPU thread, after the copy). */
    @FunctionalInterface
    public interface WriteListener {
        /**
         * @param data   the whole file after the write (the listener may keep a copy, never the array)
         * @param offset where the write started
         * @param length how many bytes it wrote
         */
        void written(byte[] data, int offset, int length);
    }

    /** One item: its bytes (a file's are replaced in place by DMA writes), and for files a name. */
    private static final class Item {
        final String name;
        final byte[] initial;
        final byte[] data;
        final WriteListener onWrite;

        Item(String name, byte[] data, WriteListener onWrite) {
            this.name = name;
            this.initial = data.clone();
            this.data = data.clone();
            this.onWrite = onWrite;
        }
    }

    private final GuestMemory memory;
    private final Map<Integer, Item> items = new TreeMap<>();
    private final Map<String, Integer> files = new TreeMap<>();
    private final IoHandler portHandler = new Ports();
    private final IoHandler dmaHandler = new Dma();
    private int selector;
    private int offset;
    private long dmaAddress;
    private long dmaTransfers;
    private long dmaErrors;

    public FwCfg(GuestMemory memory) {
        this.memory = memory;
        items.put(SIGNATURE, new Item(null, "QEMU".getBytes(StandardCharsets.US_ASCII), null));
        items.put(ID, new Item(null, le32(ID_TRADITIONAL | ID_DMA), null));
        rebuildDirectory();
    }

    @Override
    public String name() {
        return "lpc-fw-cfg";
    }

    /** Maps the selector and data ports (0x510–0x511) and the DMA address register (0x514–0x51B). */
    public void attach(Bus portBus) {
        portBus.register(SELECTOR_PORT, 2, name(), portHandler);
        portBus.register(DMA_PORT, 8, name() + "-dma", dmaHandler);
    }

    public IoHandler portHandler() {
        return portHandler;
    }

    public IoHandler dmaHandler() {
        return dmaHandler;
    }

    /** Adds (or replaces) a numeric item, read-only. */
    public synchronized void addItem(int key, byte[] data) {
        if (key == FILE_DIR || key < 0 || key >= FILE_FIRST) {
            throw new IllegalArgumentException("numeric fw_cfg keys are 0x02-0x1f except 0x19, got 0x" + Integer.toHexString(key));
        }
        items.put(key, new Item(null, data, null));
    }

    /** Adds a read-only named file; returns its select key. */
    public int addFile(String name, byte[] data) {
        return addFile(name, data, null);
    }

    /**
     * Adds a named file; a non-null listener makes it writable through DMA (its size stays what it is now).
     * Returns its select key.
     */
    public synchronized int addFile(String name, byte[] data, WriteListener onWrite) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        if (n.length == 0 || n.length >= FILE_NAME_SIZE) {
            throw new IllegalArgumentException("fw_cfg file names are 1-55 bytes: " + name);
        }
        if (files.containsKey(name)) {
            throw new IllegalArgumentException("fw_cfg file " + name + " exists already");
        }
        if (files.size() >= MAX_FILES) {
            throw new IllegalStateException("too many fw_cfg files");
        }
        int key = FILE_FIRST + files.size();
        items.put(key, new Item(name, data, onWrite));
        files.put(name, key);
        rebuildDirectory();
        return key;
    }

    /** The current contents of a named file (a copy), or null. */
    public synchronized byte[] file(String name) {
        Integer key = files.get(name);
        return key == null ? null : items.get(key).data.clone();
    }

    /** Directory: count, then entries sorted by name (QEMU sorts them, and firmware bisects nothing but expects it). */
    private void rebuildDirectory() {
        ByteBuffer b = ByteBuffer.allocate(4 + files.size() * (8 + FILE_NAME_SIZE)); // big-endian by default
        b.putInt(files.size());
        for (Map.Entry<String, Integer> f : files.entrySet()) {
            Item it = items.get(f.getValue());
            b.putInt(it.data.length);
            b.putShort((short) (int) f.getValue());
            b.putShort((short) 0);
            byte[] n = Arrays.copyOf(f.getKey().getBytes(StandardCharsets.US_ASCII), FILE_NAME_SIZE);
            b.put(n);
        }
        items.put(FILE_DIR, new Item(null, b.array(), null));
    }

    @Override
    public synchronized void reset() {
        selector = 0;
        offset = 0;
        dmaAddress = 0;
        for (Item it : items.values()) {
            System.arraycopy(it.initial, 0, it.data, 0, it.data.length);
        }
    }

    /** Completed DMA descriptors and those that ended with the error bit (for tests and logs). */
    public synchronized long dmaTransfers() {
        return dmaTransfers;
    }

    public synchronized long dmaErrors() {
        return dmaErrors;
    }

    private synchronized void select(int value) {
        selector = value & 0xFFFF;
        offset = 0;
    }

    private Item current() {
        return items.get(selector & KEY_MASK);
    }

    private synchronized int readDataByte() {
        Item it = current();
        if (it == null || offset >= it.data.length) {
            return 0;
        }
        return it.data[offset++] & 0xFF;
    }

    private synchronized long readDmaRegister(long off, int size) {
        // The register reads "QEMU CFG", its bytes in address order (the register is big-endian).
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            long pos = off + i;
            int byteVal = pos < 8 ? (int) (DMA_SIGNATURE >>> (56 - 8 * pos)) & 0xFF : 0xFF;
            v = (v << 8) | byteVal;
        }
        return v;
    }

    private synchronized void writeDmaRegister(long off, int size, long value) {
        // Port I/O is little-endian: the byte at 0x514+i is bits 8i..8i+7 of the value written. The register
        // holds a big-endian address, so byte 0x514 is its most significant byte.
        if (size == 8 && off == 0) {
            dmaAddress = Long.reverseBytes(value);
            runDma(dmaAddress);
        } else if (size == 4 && off == 0) {
            long hi = Integer.reverseBytes((int) value) & 0xFFFF_FFFFL;
            dmaAddress = (hi << 32) | (dmaAddress & 0xFFFF_FFFFL);
        } else if (size == 4 && off == 4) {
            long lo = Integer.reverseBytes((int) value) & 0xFFFF_FFFFL;
            dmaAddress = (dmaAddress & 0xFFFF_FFFF_0000_0000L) | lo;
            long a = dmaAddress;
            dmaAddress = 0; // QEMU clears the register after a transfer, so a stale high half is not reused
            runDma(a);
        } else {
            LOG.log(Level.DEBUG, () -> "fw_cfg: ignored " + size + "-byte write at DMA register offset " + off);
        }
    }

    /** Runs one descriptor. Called with the lock held. */
    private void runDma(long desc) {
        dmaTransfers++;
        if (!memory.isValid(desc, DMA_ACCESS_SIZE)) {
            dmaErrors++; // nowhere to report it: the descriptor is not RAM
            LOG.log(Level.DEBUG, () -> String.format("fw_cfg: DMA descriptor at 0x%x is not guest RAM", desc));
            return;
        }
        try {
            int control = Integer.reverseBytes(memory.read32(desc));
            long length = Integer.reverseBytes(memory.read32(desc + 4)) & 0xFFFF_FFFFL;
            long address = Long.reverseBytes(memory.read64(desc + 8));
            int result = transfer(control, length, address);
            if ((result & DMA_ERROR) != 0) {
                dmaErrors++;
            }
            memory.write32(desc, Integer.reverseBytes(result));
        } catch (GuestMemoryException e) {
            // isValid said the 16 bytes are RAM; nothing else touches memory outside checked ranges.
            dmaErrors++;
        }
    }

    /** Returns the control word to store: 0 on success, {@link #DMA_ERROR} on failure. */
    private int transfer(int control, long length, long address) throws GuestMemoryException {
        if ((control & DMA_SELECT) != 0) {
            selector = control >>> 16;
            offset = 0;
        }
        boolean read = (control & DMA_READ) != 0;
        boolean write = !read && (control & DMA_WRITE) != 0;
        boolean skip = !read && !write && (control & DMA_SKIP) != 0;
        if (!read && !write && !skip) {
            return 0; // a select alone (or nothing)
        }
        if (length > MAX_DMA_LENGTH) {
            return DMA_ERROR;
        }
        if ((read || write) && length > 0 && !memory.isValid(address, length)) {
            return DMA_ERROR;
        }
        Item it = current();
        int len = (int) length;
        int available = it == null ? 0 : Math.max(0, it.data.length - offset);
        if (write) {
            if (it == null || it.onWrite == null || len > available) {
                return DMA_ERROR;
            }
            if (len > 0) {
                memory.read(address, it.data, offset, len);
                int start = offset;
                offset += len;
                it.onWrite.written(it.data, start, len);
            }
            return 0;
        }
        int n = Math.min(len, available);
        if (read) {
            if (n > 0) {
                memory.write(address, it.data, offset, n);
            }
            if (len > n) {
                memory.fill(address + n, len - n, (byte) 0);
            }
        }
        // The offset may pass the end (reads there are zeros), as in QEMU; it cannot overflow: len is bounded.
        offset = (int) Math.min((long) offset + len, Integer.MAX_VALUE);
        return 0;
    }

    /** Little-endian bytes of a 16-bit value (legacy items are little-endian). */
    public static byte[] le16(int v) {
        return new byte[] {(byte) v, (byte) (v >>> 8)};
    }

    public static byte[] le32(int v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    public static byte[] le64(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        return b;
    }

    /** The file names, in directory order. */
    public synchronized List<String> fileNames() {
        return new ArrayList<>(files.keySet());
    }

    private final class Ports implements IoHandler {
        @Override
        public long read(long off, int size) {
            if (off != 1) {
                return 0; // the selector is write-only; QEMU reads it as 0
            }
            long v = 0;
            for (int i = 0; i < size; i++) {
                v |= (long) readDataByte() << (8 * i); // wider reads are byte arrays in access order
            }
            return v;
        }

        @Override
        public void write(long off, int size, long value) {
            if (off == 0 && size == 2) {
                select((int) value);
            } else if (off == 0 && size >= 2) {
                select((int) value); // a 4-byte write to 0x510: the low half is the selector
            }
            // Writes to the data register are ignored (QEMU since 2.4; writing goes through DMA).
        }
    }

    private final class Dma implements IoHandler {
        @Override
        public long read(long off, int size) {
            return readDmaRegister(off, size);
        }

        @Override
        public void write(long off, int size, long value) {
            writeDmaRegister(off, size, value);
        }
    }
}
