package dev.apiary.vmm.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.apiary.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

/** PRP resolution on its own: ranges, merging, page sizes, and each way a data pointer can be wrong. */
class PrpListTest {
    final GuestMemory mem = GuestMemory.allocate(0, 1 << 20, 1L << 30, 1 << 20);

    int status(long prp1, long prp2, long length, int pageSize) {
        return assertThrows(CommandException.class, () -> PrpList.resolve(mem, prp1, prp2, length, pageSize)).status()
                & 0x7FF;
    }

    @Test
    void singlePageAndOffsets() throws Exception {
        PrpList p = PrpList.resolve(mem, 0x1200, 0, 512, 4096);
        assertEquals(1, p.ranges());
        assertEquals(0x1200, p.rangeAddress(0));
        assertEquals(512, p.rangeLength(0));
        assertEquals(0, PrpList.resolve(mem, 0x1200, 0, 0, 4096).ranges(), "no data");
    }

    @Test
    void twoPagesMergeWhenAdjacent() throws Exception {
        PrpList p = PrpList.resolve(mem, 0x1800, 0x2000, 4096, 4096);
        assertEquals(1, p.ranges(), "0x1800..0x2000 then 0x2000..0x2800 are contiguous");
        assertEquals(4096, p.rangeLength(0));
        p = PrpList.resolve(mem, 0x1800, 0x8000, 4096, 4096);
        assertEquals(2, p.ranges());
        assertEquals(2048, p.rangeLength(0));
        assertEquals(0x8000, p.rangeAddress(1));
    }

    @Test
    void aTransferMaySpanMemoryRegions() throws Exception {
        // The last page of the first region, then the first page of the region at 1 GiB.
        PrpList p = PrpList.resolve(mem, 0xF_F000, 1L << 30, 8192, 4096);
        assertEquals(2, p.ranges());
        assertEquals(1L << 30, p.rangeAddress(1));
    }

    @Test
    void largerMemoryPageSize() throws Exception {
        PrpList p = PrpList.resolve(mem, 0x1_0000, 0x3_0000, 2 * 65536, 65536);
        assertEquals(2, p.ranges());
        assertEquals(65536, p.rangeLength(1));
        assertEquals(NvmeStatus.INVALID_PRP_OFFSET, status(0x1_0000, 0x3_1000, 2 * 65536, 65536), "4K aligned is not 64K aligned");
    }

    @Test
    void listEntriesAreCheckedOneByOne() throws Exception {
        mem.write64(0x5000, 0x6000);
        mem.write64(0x5008, 0x7001);
        assertEquals(NvmeStatus.INVALID_PRP_OFFSET, status(0x4000, 0x5000, 3 * 4096, 4096));
        mem.write64(0x5008, 0x20_0000); // just past the first region
        assertEquals(NvmeStatus.DATA_TRANSFER_ERROR, status(0x4000, 0x5000, 3 * 4096, 4096));
        mem.write64(0x5008, 0x8000);
        assertEquals(3, PrpList.resolve(mem, 0x4000, 0x5000, 3 * 4096, 4096).ranges());
    }

    @Test
    void selfChainingListIsRefused() throws Exception {
        // Entries 0..510 point to data, entry 511 chains back to the list itself.
        for (int i = 0; i < 511; i++) {
            mem.write64(0x9000 + 8L * i, 0xA000);
        }
        mem.write64(0x9000 + 8L * 511, 0x9000);
        assertEquals(NvmeStatus.INVALID_FIELD, status(0xA000, 0x9000, 600L * 4096, 4096));
    }

    @Test
    void copyInAndOut() throws Exception {
        PrpList p = PrpList.resolve(mem, 0xB000 + 4000, 0xD000, 200, 4096);
        byte[] data = new byte[200];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        p.copyIn(data);
        assertEquals(data[99], mem.read8(0xD000 + 99 - 96));
        assertEquals(java.util.Arrays.toString(data), java.util.Arrays.toString(p.copyOut()));
    }
}
