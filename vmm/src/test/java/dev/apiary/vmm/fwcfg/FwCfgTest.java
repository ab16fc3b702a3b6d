package dev.apiary.vmm.fwcfg;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Drives fw_cfg through its ports the way SeaBIOS, OVMF and Linux's qemu_fw_cfg driver do. */
class FwCfgTest {
    private static final long RAM = 16L << 20;
    private static final long DESC = 0x10000;
    private static final long BUF = 0x20000;

    private GuestMemory mem;
    private FwCfg fw;
    private Bus ports;
    private final List<String> writes = new ArrayList<>();

    @BeforeEach
    void setUp() {
        mem = GuestMemory.allocate(0, RAM);
        fw = new FwCfg(mem);
        ports = new Bus("port");
        fw.attach(ports);
        fw.addItem(FwCfg.NB_CPUS, FwCfg.le16(3));
        fw.addFile("etc/zeta", "last".getBytes(StandardCharsets.US_ASCII));
        fw.addFile("etc/alpha", new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
        fw.addFile("etc/writable", new byte[8], (data, off, len) -> writes.add(off + "+" + len + ":" + data[off]));
    }

    private void select(int key) {
        ports.write(0x510, 2, key);
    }

    private int readByte() {
        return (int) ports.read(0x511, 1);
    }

    private byte[] readData(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) readByte();
        }
        return b;
    }

    /** Writes a descriptor and starts it the way guests do on x86: high half at 0x514, low half at 0x518. */
    private int dma(long desc, int control, int length, long address) throws Exception {
        mem.write32(desc, Integer.reverseBytes(control));
        mem.write32(desc + 4, Integer.reverseBytes(length));
        mem.write64(desc + 8, Long.reverseBytes(address));
        startDma(desc);
        return Integer.reverseBytes(mem.read32(desc));
    }

    private void startDma(long desc) {
        ports.write(0x514, 4, Integer.reverseBytes((int) (desc >>> 32)) & 0xFFFF_FFFFL);
        ports.write(0x518, 4, Integer.reverseBytes((int) desc) & 0xFFFF_FFFFL);
    }

    @Test
    void signatureAndIdThroughTheDataPort() {
        select(FwCfg.SIGNATURE);
        assertEquals("QEMU", new String(readData(4), StandardCharsets.US_ASCII));
        assertEquals(0, readByte(), "past the end reads zero");
        select(FwCfg.ID);
        assertArrayEquals(new byte[] {3, 0, 0, 0}, readData(4), "traditional + DMA");
        select(FwCfg.NB_CPUS);
        assertArrayEquals(new byte[] {3, 0}, readData(2));
    }

    @Test
    void selectingResetsTheOffsetAndUnknownKeysReadZero() {
        select(FwCfg.SIGNATURE);
        readData(2);
        select(FwCfg.SIGNATURE);
        assertEquals('Q', readByte());
        select(0x1234);
        assertArrayEquals(new byte[4], readData(4));
        select(0x8000 | FwCfg.SIGNATURE);
        assertArrayEquals(new byte[4], readData(4), "architecture-local keys are another table");
        select(0x4000 | FwCfg.SIGNATURE);
        assertEquals('Q', readByte(), "the write-mode bit does not change the item");
    }

    @Test
    void dataWritesAreIgnoredAndSelectorReadsZero() {
        select(FwCfg.SIGNATURE);
        ports.write(0x511, 1, 0x41);
        select(FwCfg.SIGNATURE);
        assertEquals('Q', readByte());
        assertEquals(0, ports.read(0x510, 2));
    }

    @Test
    void widerDataReadsAreByteArraysInOrder() {
        select(FwCfg.SIGNATURE);
        long v = ports.read(0x511, 1) | ports.read(0x511, 1) << 8;
        assertEquals('Q' | 'E' << 8, v);
    }

    @Test
    void directoryIsBigEndianSortedByName() {
        select(FwCfg.FILE_DIR);
        ByteBuffer b = ByteBuffer.wrap(readData(4 + 3 * 64));
        assertEquals(3, b.getInt());
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int size = b.getInt();
            int key = b.getShort() & 0xFFFF;
            assertEquals(0, b.getShort());
            byte[] n = new byte[56];
            b.get(n);
            String name = new String(n, StandardCharsets.US_ASCII).replace("\0", "");
            names.add(name);
            assertTrue(key >= FwCfg.FILE_FIRST);
            select(key);
            byte[] expect = fw.file(name);
            assertEquals(expect.length, size);
            assertArrayEquals(expect, readData(size));
        }
        assertEquals(List.of("etc/alpha", "etc/writable", "etc/zeta"), names);
    }

    @Test
    void dmaRegisterReadsTheSignature() {
        long hi = ports.read(0x514, 4);
        long lo = ports.read(0x518, 4);
        byte[] b = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt((int) hi).putInt((int) lo).array();
        assertEquals("QEMU CFG", new String(b, StandardCharsets.US_ASCII));
        assertEquals(0x51, ports.read(0x514, 1));
    }

    @Test
    void dmaReadWithSelectCopiesAndZeroFills() throws Exception {
        mem.fill(BUF, 64, (byte) 0x55);
        int key = fw.fileNames().indexOf("etc/alpha") >= 0 ? keyOf("etc/alpha") : -1;
        int ctl = dma(DESC, key << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_READ, 16, BUF);
        assertEquals(0, ctl);
        byte[] got = new byte[17];
        mem.read(BUF, got, 0, 17);
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0, 0, 0, 0, 0x55}, got);
    }

    @Test
    void dmaSkipThenReadContinuesAtTheOffset() throws Exception {
        int key = keyOf("etc/alpha");
        assertEquals(0, dma(DESC, key << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_SKIP, 3, 0xFFFF_FFFF_FFFFL));
        assertEquals(0, dma(DESC, FwCfg.DMA_READ, 2, BUF));
        assertEquals(4, mem.read8(BUF));
        assertEquals(5, mem.read8(BUF + 1));
        assertEquals(6, readByte(), "the port continues where DMA left off");
    }

    @Test
    void dmaSelectAloneSelects() throws Exception {
        assertEquals(0, dma(DESC, FwCfg.SIGNATURE << 16 | FwCfg.DMA_SELECT, 0, 0));
        assertEquals('Q', readByte());
    }

    @Test
    void dmaWriteToWritableFileCallsTheListener() throws Exception {
        int key = keyOf("etc/writable");
        mem.write(BUF, new byte[] {9, 8, 7, 6});
        assertEquals(0, dma(DESC, key << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 4, BUF));
        assertEquals(List.of("0+4:9"), writes);
        assertArrayEquals(new byte[] {9, 8, 7, 6, 0, 0, 0, 0}, fw.file("etc/writable"));
        assertEquals(0, dma(DESC, FwCfg.DMA_WRITE, 4, BUF), "continues at offset 4");
        assertArrayEquals(new byte[] {9, 8, 7, 6, 9, 8, 7, 6}, fw.file("etc/writable"));
        fw.reset();
        assertArrayEquals(new byte[8], fw.file("etc/writable"), "reset restores the initial contents");
    }

    @Test
    void dmaWriteErrors() throws Exception {
        int w = keyOf("etc/writable");
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, keyOf("etc/alpha") << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 4, BUF),
                "read-only file");
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, w << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 9, BUF), "longer than the file");
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, FwCfg.SIGNATURE << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 4, BUF),
                "numeric item");
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, 0x7777 << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 1, BUF), "no item");
        assertTrue(writes.isEmpty());
        assertArrayEquals(new byte[8], fw.file("etc/writable"));
    }

    @Test
    void hostileDescriptors() throws Exception {
        int key = keyOf("etc/alpha");
        // Buffer outside RAM, straddling the end of RAM, at a negative (wrapping) address, absurd length.
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, key << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_READ, 16, RAM + 0x1000));
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, FwCfg.DMA_READ, 16, RAM - 8));
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, FwCfg.DMA_READ, 16, -8L));
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, FwCfg.DMA_READ, -1, BUF));
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, FwCfg.DMA_READ, FwCfg.MAX_DMA_LENGTH + 1, BUF));
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, FwCfg.DMA_SKIP, -1, 0), "skip lengths are bounded too");
        assertEquals(FwCfg.DMA_ERROR, dma(DESC, w() << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 4, RAM - 2));
        // The buffer overlapping the descriptor itself is fine: the control word is written last.
        assertEquals(0, dma(DESC, key << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_READ, 16, DESC));
        // Descriptors outside RAM, straddling its end, at the top of the address space: nothing happens.
        long errors = fw.dmaErrors();
        startDma(RAM);
        startDma(RAM - 8);
        startDma(-16L);
        startDma(0xFFFF_FFFF_FFFF_FFF8L);
        assertEquals(errors + 4, fw.dmaErrors());
        // Partial, misaligned and odd-sized register writes are ignored.
        ports.write(0x515, 1, 0);
        ports.write(0x516, 2, 0);
        ports.write(0x519, 4, 0);
        ports.write(0x514, 8, Long.reverseBytes(DESC));
        assertTrue(fw.dmaTransfers() > 0);
        // Random descriptors never throw.
        Random r = new Random(11);
        for (int i = 0; i < 20000; i++) {
            long d = r.nextBoolean() ? r.nextLong() : (r.nextInt((int) RAM) & ~15);
            if (fw.dmaTransfers() % 3 == 0 && mem.isValid(d, 16)) {
                mem.write64(d, r.nextLong());
                mem.write64(d + 8, r.nextBoolean() ? r.nextLong() : Long.reverseBytes(r.nextInt((int) RAM)));
            }
            startDma(d);
            ports.write(0x510, 2, r.nextInt(0x10000));
            ports.read(0x511, 1 << r.nextInt(3));
        }
    }

    private int w() {
        return keyOf("etc/writable");
    }

    private int keyOf(String name) {
        select(FwCfg.FILE_DIR);
        ByteBuffer b = ByteBuffer.wrap(readData(4 + 64 * 16));
        int n = b.getInt();
        for (int i = 0; i < n; i++) {
            b.getInt();
            int key = b.getShort() & 0xFFFF;
            b.getShort();
            byte[] nm = new byte[56];
            b.get(nm);
            if (new String(nm, StandardCharsets.US_ASCII).replace("\0", "").equals(name)) {
                return key;
            }
        }
        throw new AssertionError(name);
    }

    @Test
    void fileNamesAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> fw.addFile("x".repeat(56), new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> fw.addFile("etc/alpha", new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> fw.addItem(FwCfg.FILE_DIR, new byte[1]));
    }
}
