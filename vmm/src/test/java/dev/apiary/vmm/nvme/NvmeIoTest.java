package dev.apiary.vmm.nvme;

import static dev.apiary.vmm.nvme.NvmeRig.command;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.apiary.vmm.device.IoEventRegistrar;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NVM commands end to end: data really lands in and comes from the image file. */
class NvmeIoTest {
    @TempDir
    Path dir;
    NvmeRig rig;

    @BeforeEach
    void setUp() throws Exception {
        rig = new NvmeRig(dir);
        rig.enableMsix();
        rig.enable();
        rig.createQueuePair(1, 64);
    }

    @AfterEach
    void tearDown() {
        if (rig != null) {
            rig.close();
        }
    }

    static byte[] pattern(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    byte[] fileBytes(Path image, long offset, int length) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
            byte[] b = new byte[length];
            f.seek(offset);
            f.readFully(b);
            return b;
        }
    }

    void writeFile(Path image, long offset, byte[] data) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(offset);
            f.write(data);
        }
    }

    @Test
    void writeWithPrp1OnlyLandsInTheFile() throws Exception {
        byte[] data = pattern(4096, 1);
        long buf = rig.alloc(4096);
        rig.write(buf, data);
        assertEquals(0, rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(buf).lba(8, 8)).status());
        assertArrayEquals(data, fileBytes(rig.image, 8 * 512, 4096));
    }

    @Test
    void readWithPrp1OffsetAndPrp2() throws Exception {
        byte[] data = pattern(4096, 2);
        writeFile(rig.image, 100 * 512, data);
        long pages = rig.alloc(3 * 4096);
        long prp1 = pages + 4096 - 1024; // 1 KiB in the first page, the rest in PRP2's page
        long prp2 = pages + 2 * 4096;
        assertEquals(0, rig.run(1, command(Opcodes.READ).nsid(1).prp1(prp1).prp2(prp2).lba(100, 8)).status());
        byte[] got = new byte[4096];
        System.arraycopy(rig.read(prp1, 1024), 0, got, 0, 1024);
        System.arraycopy(rig.read(prp2, 3072), 0, got, 1024, 3072);
        assertArrayEquals(data, got);
    }

    @Test
    void scatteredPrpListRoundTrip() throws Exception {
        int pages = 40; // 160 KiB
        long list = rig.alloc(4096);
        long[] page = new long[pages];
        for (int i = 0; i < pages; i++) {
            page[i] = rig.alloc(4096);
            rig.alloc(4096); // a gap, so pages are not adjacent
        }
        byte[] data = pattern(pages * 4096, 3);
        for (int i = 0; i < pages; i++) {
            rig.write(page[i], java.util.Arrays.copyOfRange(data, i * 4096, (i + 1) * 4096));
        }
        for (int i = 1; i < pages; i++) {
            rig.write(list + 8L * (i - 1), le64(page[i]));
        }
        int blocks = pages * 8;
        assertEquals(0, rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(page[0]).prp2(list).lba(1000, blocks)).status());
        assertArrayEquals(data, fileBytes(rig.image, 1000L * 512, data.length));

        for (int i = 0; i < pages; i++) {
            rig.write(page[i], new byte[4096]);
        }
        assertEquals(0, rig.run(1, command(Opcodes.READ).nsid(1).prp1(page[0]).prp2(list).lba(1000, blocks)).status());
        for (int i = 0; i < pages; i++) {
            assertArrayEquals(java.util.Arrays.copyOfRange(data, i * 4096, (i + 1) * 4096), rig.read(page[i], 4096), "page " + i);
        }
    }

    @Test
    void prpListChainedAcrossListPages() throws Exception {
        // The list starts 16 bytes before the end of its page: two entries, the second chains to the next list.
        long lists = rig.alloc(2 * 4096);
        long listStart = lists + 4096 - 16;
        long data = rig.alloc(5 * 4096); // contiguous: merged into one range
        rig.write(listStart, le64(data + 4096));
        rig.write(listStart + 8, le64(lists + 4096)); // chain
        for (int i = 0; i < 3; i++) {
            rig.write(lists + 4096 + 8L * i, le64(data + (2 + i) * 4096L));
        }
        byte[] bytes = pattern(5 * 4096, 4);
        rig.write(data, bytes);
        assertEquals(0, rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(data).prp2(listStart).lba(0, 40)).status());
        assertArrayEquals(bytes, fileBytes(rig.image, 0, bytes.length));
    }

    @Test
    void mdtsSizedTransfer() throws Exception {
        long bytes = rig.ctrl.maxTransferBytes();
        int pages = (int) (bytes / 4096);
        long data = rig.alloc(bytes);
        long list = rig.alloc(4096);
        for (int i = 1; i < pages; i++) {
            rig.write(list + 8L * (i - 1), le64(data + 4096L * i));
        }
        byte[] content = pattern((int) bytes, 5);
        rig.write(data, content);
        int blocks = (int) (bytes / 512);
        assertEquals(0, rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(data).prp2(list).lba(0, blocks)).status());
        assertArrayEquals(content, fileBytes(rig.image, 0, content.length));
        assertEquals(NvmeStatus.INVALID_FIELD,
                rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(data).prp2(list).lba(0, blocks + 1)).code(),
                "one block over MDTS");
    }

    @Test
    void flushCompletesAfterTheDataIsInTheFile() throws Exception {
        long buf = rig.alloc(4096);
        byte[] data = pattern(4096, 6);
        rig.write(buf, data);
        rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(buf).lba(64, 8));
        assertEquals(0, rig.run(1, command(Opcodes.FLUSH).nsid(1)).status());
        assertEquals(0, rig.run(1, command(Opcodes.FLUSH).nsid(0xFFFF_FFFF)).status(), "broadcast flush");
        assertArrayEquals(data, fileBytes(rig.image, 64 * 512, 4096));
        assertEquals(NvmeStatus.INVALID_NAMESPACE, rig.run(1, command(Opcodes.FLUSH).nsid(2)).code());
    }

    @Test
    void writeThroughWhenTheCacheIsOffAndWithFua() {
        rig.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_VOLATILE_WRITE_CACHE).cdw(11, 0));
        long buf = rig.alloc(4096);
        assertEquals(0, rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(buf).lba(0, 8)).status());
        assertEquals(0, rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(buf).lba(0, 8).cdw(12, 7 | (1 << 30))).status());
    }

    @Test
    void writeZeroes() throws Exception {
        writeFile(rig.image, 0, pattern(64 * 512, 7));
        assertEquals(0, rig.run(1, command(Opcodes.WRITE_ZEROES).nsid(1).lba(8, 8)).status());
        assertArrayEquals(new byte[8 * 512], fileBytes(rig.image, 8 * 512, 8 * 512));
        assertEquals(0, rig.run(1, command(Opcodes.WRITE_ZEROES).nsid(1).lba(16, 16).cdw(12, 15 | (1 << 25))).status(),
                "with DEAC");
        assertArrayEquals(new byte[16 * 512], fileBytes(rig.image, 16 * 512, 16 * 512));
        assertTrue(fileBytes(rig.image, 32 * 512, 512)[7] != 0 || fileBytes(rig.image, 32 * 512, 512)[8] != 0,
                "neighbours untouched");
    }

    @Test
    void deallocatePunchesAHole() throws Exception {
        int mib = 1 << 20;
        long data = rig.alloc(mib);
        long list = rig.alloc(4096);
        for (int i = 1; i < 256; i++) {
            rig.write(list + 8L * (i - 1), le64(data + 4096L * i));
        }
        rig.write(data, pattern(mib, 8));
        rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(data).prp2(list).lba(4096, 2048));
        rig.run(1, command(Opcodes.FLUSH).nsid(1));
        long before = allocatedBytes(rig.image);

        long ranges = rig.alloc(4096);
        ByteBuffer r = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        r.putInt(0, 0).putInt(4, 1024).putLong(8, 4096); // first 512 KiB
        r.putInt(16, 0).putInt(20, 1024).putLong(24, 5120); // second 512 KiB
        rig.write(ranges, r.array());
        assertEquals(0, rig.run(1, command(Opcodes.DATASET_MANAGEMENT).nsid(1).prp1(ranges).cdw(10, 1).cdw(11, 1 << 2)).status());
        assertArrayEquals(new byte[mib], fileBytes(rig.image, 4096L * 512, mib), "deallocated blocks read as zeroes");

        long after = allocatedBytes(rig.image);
        assumeTrue(before >= 0 && after >= 0, "stat unavailable");
        assumeTrue(before >= mib, "file system did not allocate the written data");
        assertTrue(after <= before - mib / 2, "hole punched: allocated " + before + " -> " + after);

        // Deallocate without AD is a hint only; out-of-range ranges are refused.
        assertEquals(0, rig.run(1, command(Opcodes.DATASET_MANAGEMENT).nsid(1).prp1(ranges).cdw(10, 1).cdw(11, 1)).status());
        r.putLong(8, (16L << 20) / 512 - 10).putInt(4, 11);
        rig.write(ranges, r.array());
        assertEquals(NvmeStatus.LBA_OUT_OF_RANGE,
                rig.run(1, command(Opcodes.DATASET_MANAGEMENT).nsid(1).prp1(ranges).cdw(10, 0).cdw(11, 1 << 2)).code());
    }

    /** Allocated bytes of a file ({@code stat %b × %B}), or -1. */
    static long allocatedBytes(Path file) {
        try {
            Process p = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            if (p.waitFor() != 0) {
                return -1;
            }
            String[] parts = out.split(" ");
            return Long.parseLong(parts[0]) * Long.parseLong(parts[1]);
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void smartCountersCountRealTraffic() {
        long buf = rig.alloc(8192);
        for (int i = 0; i < 3; i++) {
            rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(buf).prp2(buf + 4096).lba(0, 16));
        }
        assertEquals(3, rig.ctrl.health().writeCommands.get());
        assertEquals(3 * 8192, rig.ctrl.health().bytesWritten.get());
        assertEquals(1, HealthLog.dataUnits(512));
        assertEquals(1, HealthLog.dataUnits(512_000));
        assertEquals(2, HealthLog.dataUnits(512_001));
    }

    @Test
    void readOnlyImageRefusesWritesWithWriteProtected() throws Exception {
        rig.close();
        rig = new NvmeRig(dir, NvmeConfig.defaults("RO", 2), 1 << 20, true, IoEventRegistrar.NONE);
        rig.enable();
        rig.createQueuePair(1, 8);
        ByteBuffer ns = ByteBuffer.wrap(rig.identify(Opcodes.CNS_NAMESPACE, 1)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, ns.get(99) & 1, "NSATTR: write protected");
        long buf = rig.alloc(4096);
        assertEquals(0, rig.run(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(0, 8)).status());
        NvmeRig.Cqe c = rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(buf).lba(0, 8));
        assertEquals(NvmeStatus.NAMESPACE_WRITE_PROTECTED, c.code());
        assertTrue(c.dnr());
        assertEquals(NvmeStatus.NAMESPACE_WRITE_PROTECTED, rig.run(1, command(Opcodes.WRITE_ZEROES).nsid(1).lba(0, 8)).code());
        rig.write(buf, new byte[16]);
        assertEquals(NvmeStatus.NAMESPACE_WRITE_PROTECTED,
                rig.run(1, command(Opcodes.DATASET_MANAGEMENT).nsid(1).prp1(buf).cdw(11, 1 << 2)).code());
        assertEquals(0, rig.run(1, command(Opcodes.FLUSH).nsid(1)).status());
        assertArrayEquals(new byte[4096], fileBytes(rig.image, 0, 4096));
    }

    @Test
    void lbaSize4096WhenConfigured() throws Exception {
        rig.close();
        rig = new NvmeRig(dir, NvmeConfig.defaults("BIG-LBA", 2).withLbaSize(4096), (1 << 20) + 1000, false,
                IoEventRegistrar.NONE);
        rig.enable();
        rig.createQueuePair(1, 8);
        ByteBuffer ns = ByteBuffer.wrap(rig.identify(Opcodes.CNS_NAMESPACE, 1)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(256, ns.getLong(0), "whole 4 KiB blocks of the image");
        assertEquals(1, ns.get(26), "FLBAS: format 1");
        long buf = rig.alloc(4096);
        byte[] data = pattern(4096, 9);
        rig.write(buf, data);
        assertEquals(0, rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(buf).lba(3, 1)).status());
        assertArrayEquals(data, fileBytes(rig.image, 3 * 4096, 4096));
        assertEquals(NvmeStatus.LBA_OUT_OF_RANGE, rig.run(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(256, 1)).code());
    }

    @Test
    void formatNvmSelectsTheLbaFormat() {
        rig.adminOk(command(Opcodes.FORMAT_NVM).nsid(1).cdw(10, 1));
        ByteBuffer ns = ByteBuffer.wrap(rig.identify(Opcodes.CNS_NAMESPACE, 1)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, ns.get(26));
        assertEquals((16L << 20) / 4096, ns.getLong(0));
        assertEquals(NvmeStatus.INVALID_FORMAT, rig.admin(command(Opcodes.FORMAT_NVM).nsid(1).cdw(10, 2)).code());
        assertEquals(NvmeStatus.INVALID_FORMAT, rig.admin(command(Opcodes.FORMAT_NVM).nsid(1).cdw(10, 1 << 5)).code(),
                "protection information");
        assertEquals(NvmeStatus.INVALID_NAMESPACE, rig.admin(command(Opcodes.FORMAT_NVM).nsid(3)).code());
        rig.adminOk(command(Opcodes.FORMAT_NVM).nsid(1).cdw(10, 0));
        assertEquals(0, ByteBuffer.wrap(rig.identify(Opcodes.CNS_NAMESPACE, 1)).get(26));
    }

    @Test
    void manyCommandsInFlightOnSeveralQueues() throws Exception {
        rig.createQueuePair(2, 64);
        rig.createQueuePair(3, 16);
        long buf = rig.alloc(4096 * 3);
        for (int q = 1; q <= 3; q++) {
            rig.write(buf + 4096L * (q - 1), pattern(4096, 100 + q));
        }
        // Fill each queue without waiting, ring once, then collect.
        for (int q = 1; q <= 3; q++) {
            int n = q == 3 ? 15 : 40;
            for (int i = 0; i < n; i++) {
                rig.place(q, command(Opcodes.WRITE).nsid(1).prp1(buf + 4096L * (q - 1)).lba(q * 1000 + 8L * i, 8));
            }
            rig.sqDoorbell(q, rig.queue(q).sqTail);
        }
        for (int q = 1; q <= 3; q++) {
            int n = q == 3 ? 15 : 40;
            for (int i = 0; i < n; i++) {
                assertEquals(0, rig.complete(q).status());
            }
        }
        for (int q = 1; q <= 3; q++) {
            assertArrayEquals(pattern(4096, 100 + q), fileBytes(rig.image, (q * 1000 + 8L * 7) * 512, 4096));
        }
        assertTrue(Files.size(rig.image) == 16L << 20, "the image never grows");
    }

    static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v).array();
    }
}
