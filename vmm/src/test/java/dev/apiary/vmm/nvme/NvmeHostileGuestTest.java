package dev.apiary.vmm.nvme;

import static dev.apiary.vmm.nvme.NvmeIoTest.le64;
import static dev.apiary.vmm.nvme.NvmeRig.command;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every guest-controlled value, wrong: each gets the status the specification names, nothing throws out of
 * the device, nothing hangs, and the controller keeps working afterwards.
 */
class NvmeHostileGuestTest {
    @TempDir
    Path dir;
    NvmeRig rig;
    long buf;

    @BeforeEach
    void setUp() throws Exception {
        rig = new NvmeRig(dir);
        rig.enableMsix();
        rig.enable();
        rig.createQueuePair(1, 16);
        buf = rig.alloc(8192);
    }

    @AfterEach
    void tearDown() {
        // The controller is still healthy after whatever the test did.
        assertEquals(0, rig.reg32(NvmeRegs.CSTS) & NvmeRegs.CSTS_CFS, "no fatal status");
        assertEquals(0, rig.admin(command(Opcodes.KEEP_ALIVE)).status(), "admin queue still works");
        rig.close();
    }

    private NvmeRig.Cqe io(NvmeRig.Sqe sqe) {
        return rig.run(1, sqe);
    }

    private void assertStatus(int expected, NvmeRig.Cqe c) {
        assertEquals(Integer.toHexString(expected), Integer.toHexString(c.code()));
    }

    // ---- queue creation and deletion ----

    @Test
    void createQueueWithBadIdentifiers() {
        long mem = rig.alloc(4096);
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.createCq(0, mem, 16, 0, true));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.createCq(17, mem, 16, 0, true));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.createCq(0xFFFF, mem, 16, 0, true));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.createCq(1, mem, 16, 1, true));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.createSq(1, mem, 16, 1));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.createSq(0, mem, 16, 1));
        assertStatus(NvmeStatus.COMPLETION_QUEUE_INVALID, rig.createSq(2, mem, 16, 2));
        assertStatus(NvmeStatus.COMPLETION_QUEUE_INVALID, rig.createSq(2, mem, 16, 0));
        assertStatus(NvmeStatus.COMPLETION_QUEUE_INVALID, rig.createSq(2, mem, 16, 0xFFFF));
    }

    @Test
    void createQueueWithBadSizes() {
        long mem = rig.alloc(64 * 1024);
        assertStatus(NvmeStatus.INVALID_QUEUE_SIZE, rig.createCq(2, mem, 1, 2, true));
        assertStatus(NvmeStatus.INVALID_QUEUE_SIZE, rig.createCq(2, mem, 1025, 2, true));
        assertStatus(NvmeStatus.INVALID_QUEUE_SIZE, rig.createCq(2, mem, 65536, 2, true));
        assertStatus(NvmeStatus.INVALID_QUEUE_SIZE, rig.createSq(2, mem, 1, 1));
        assertStatus(NvmeStatus.INVALID_QUEUE_SIZE, rig.createSq(2, mem, 2000, 1));
    }

    @Test
    void createQueueWithBadMemory() {
        assertStatus(NvmeStatus.INVALID_PRP_OFFSET, rig.createCq(2, rig.alloc(8192) + 256, 16, 2, true));
        assertStatus(NvmeStatus.INVALID_FIELD, rig.createCq(2, NvmeRig.RAM - 4096, 1024, 2, true), "runs off RAM");
        assertStatus(NvmeStatus.INVALID_FIELD, rig.createCq(2, 0x7FFF_FFFF_F000L, 16, 2, true));
        assertStatus(NvmeStatus.INVALID_FIELD, rig.createSq(2, NvmeRig.BAR0, 16, 1), "a queue in MMIO");
        // Not physically contiguous (PC = 0) with CAP.CQR = 1.
        assertStatus(NvmeStatus.INVALID_FIELD,
                rig.admin(command(Opcodes.CREATE_IO_CQ).prp1(rig.alloc(4096)).cdw(10, (15 << 16) | 2).cdw(11, 2)));
    }

    private void assertStatus(int expected, NvmeRig.Cqe c, String why) {
        assertEquals(Integer.toHexString(expected), Integer.toHexString(c.code()), why);
    }

    @Test
    void createQueueWithBadInterruptVector() {
        long mem = rig.alloc(4096);
        assertStatus(NvmeStatus.INVALID_INTERRUPT_VECTOR, rig.createCq(2, mem, 16, 17, true));
        assertStatus(NvmeStatus.INVALID_INTERRUPT_VECTOR, rig.createCq(2, mem, 16, 0xFFFF, true));
        assertEquals(0, rig.createCq(2, mem, 16, 0xFFFF, false).status(), "vector ignored without IEN");
    }

    @Test
    void deleteQueuesWrongly() {
        assertStatus(NvmeStatus.INVALID_QUEUE_DELETION, rig.admin(command(Opcodes.DELETE_IO_CQ).cdw(10, 1)));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.admin(command(Opcodes.DELETE_IO_CQ).cdw(10, 0)));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.admin(command(Opcodes.DELETE_IO_SQ).cdw(10, 0)));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.admin(command(Opcodes.DELETE_IO_SQ).cdw(10, 5)));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.admin(command(Opcodes.DELETE_IO_SQ).cdw(10, 0xFFFF)));
        rig.adminOk(command(Opcodes.DELETE_IO_SQ).cdw(10, 1));
        rig.adminOk(command(Opcodes.DELETE_IO_CQ).cdw(10, 1));
        assertStatus(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.admin(command(Opcodes.DELETE_IO_CQ).cdw(10, 1)));
    }

    @Test
    void deletingASubmissionQueueAbortsWhatWasNotFetched() {
        rig.ctrl.pause();
        NvmeRig.Queue q = rig.queue(1);
        rig.place(1, command(Opcodes.FLUSH).nsid(1));
        rig.place(1, command(Opcodes.FLUSH).nsid(1));
        rig.sqDoorbell(1, q.sqTail);
        rig.ctrl.resume();
        // Either the worker ran them or the deletion aborted them: both complete.
        rig.adminOk(command(Opcodes.DELETE_IO_SQ).cdw(10, 1));
        for (int i = 0; i < 2; i++) {
            int code = rig.complete(1).code();
            assertTrue(code == 0 || code == NvmeStatus.ABORTED_SQ_DELETION, Integer.toHexString(code));
        }
    }

    // ---- doorbells ----

    @Test
    void doorbellBeyondTheQueueIsIgnoredAndReported() {
        int aer = rig.submit(0, command(Opcodes.ASYNC_EVENT_REQUEST));
        rig.sqDoorbell(1, 16); // queue has 16 entries: 0..15
        NvmeRig.Cqe c = rig.complete(0);
        assertEquals(aer, c.cid());
        assertEquals(Opcodes.AE_INFO_INVALID_DOORBELL_VALUE, (c.dw0() >>> 8) & 0xFF);
        assertNull(rig.poll(1, 100_000_000L), "nothing fetched");
        rig.sqDoorbell(1, -1);
        rig.cqDoorbell(1, 1000);
        assertEquals(0, io(command(Opcodes.FLUSH).nsid(1)).status(), "queue still usable");
    }

    @Test
    void completionHeadPastTheTailIsInvalid() {
        int aer = rig.submit(0, command(Opcodes.ASYNC_EVENT_REQUEST));
        rig.cqDoorbell(1, 5); // nothing was posted on CQ 1
        NvmeRig.Cqe c = rig.complete(0);
        assertEquals(aer, c.cid());
        assertEquals(Opcodes.AE_INFO_INVALID_DOORBELL_VALUE, (c.dw0() >>> 8) & 0xFF);
        assertEquals(0, io(command(Opcodes.FLUSH).nsid(1)).status());
    }

    @Test
    void doorbellsOfQueuesThatDoNotExist() {
        rig.sqDoorbell(7, 1);
        rig.cqDoorbell(7, 1);
        rig.reg(NvmeRegs.DOORBELLS + 8 * 1000, 4, 1); // inside BAR0, beyond every queue
        rig.reg(NvmeRegs.DOORBELLS + 3, 1, 1); // a byte write: ignored
        rig.reg(0x3FFC, 4, 7); // the last doorbell slot of BAR0: CQ 1535
        rig.reg(0x4000, 4, 7); // outside BAR0
        assertEquals(4, rig.ctrl.health().errorCount());
    }

    @Test
    void strangeRegisterAccesses() {
        rig.reg(NvmeRegs.CAP, 4, -1);
        rig.reg(NvmeRegs.VS, 4, -1);
        rig.reg(NvmeRegs.CSTS, 4, -1);
        rig.reg(NvmeRegs.NSSR, 4, 0x4E564D65); // "NVMe": subsystem reset is not supported
        rig.reg(NvmeRegs.CC + 1, 2, 0);
        rig.reg(0x7, 4, 0); // misaligned
        assertEquals(0x0001_0400, rig.reg32(NvmeRegs.VS));
        assertEquals(0xFFFF, rig.reg(0x3, 2), "a read across two registers");
        assertEquals(0x04, rig.reg(NvmeRegs.VS + 1, 1));
        assertEquals(NvmeRegs.CSTS_RDY, rig.reg32(NvmeRegs.CSTS));
    }

    // ---- commands ----

    @Test
    void unknownOpcodesAndUnsupportedFields() {
        assertStatus(NvmeStatus.INVALID_OPCODE, rig.admin(command(0x7F)));
        assertStatus(NvmeStatus.INVALID_OPCODE, rig.admin(command(0xC0)));
        assertStatus(NvmeStatus.INVALID_OPCODE, io(command(0x05).nsid(1)));
        assertStatus(NvmeStatus.INVALID_OPCODE, io(command(0x81).nsid(1)));
        assertStatus(NvmeStatus.INVALID_FIELD, io(command(Opcodes.READ).nsid(1).prp1(buf).lba(0, 1).flags(1 << 14)), "SGL");
        assertStatus(NvmeStatus.INVALID_FIELD, io(command(Opcodes.READ).nsid(1).prp1(buf).lba(0, 1).flags(1 << 8)), "fused");
        assertStatus(NvmeStatus.INVALID_FIELD, rig.admin(command(Opcodes.IDENTIFY).prp1(buf).cdw(10, 1).flags(2 << 14)));
    }

    @Test
    void wrongNamespaces() {
        for (int nsid : new int[] {0, 2, 0xFFFF_FFFE, 0xFFFF_FFFF}) {
            NvmeRig.Cqe c = io(command(Opcodes.READ).nsid(nsid).prp1(buf).lba(0, 1));
            assertStatus(NvmeStatus.INVALID_NAMESPACE, c);
            assertTrue(c.dnr());
        }
        assertStatus(NvmeStatus.INVALID_NAMESPACE, io(command(Opcodes.WRITE_ZEROES).nsid(9).lba(0, 1)));
    }

    @Test
    void lbaOutOfRange() {
        long blocks = (16L << 20) / 512;
        assertEquals(0, io(command(Opcodes.READ).nsid(1).prp1(buf).lba(blocks - 1, 1)).status(), "last block");
        assertStatus(NvmeStatus.LBA_OUT_OF_RANGE, io(command(Opcodes.READ).nsid(1).prp1(buf).lba(blocks, 1)));
        assertStatus(NvmeStatus.LBA_OUT_OF_RANGE, io(command(Opcodes.READ).nsid(1).prp1(buf).lba(blocks - 1, 2)));
        assertStatus(NvmeStatus.LBA_OUT_OF_RANGE, io(command(Opcodes.WRITE).nsid(1).prp1(buf).lba(-1L, 1)));
        assertStatus(NvmeStatus.LBA_OUT_OF_RANGE, io(command(Opcodes.WRITE).nsid(1).prp1(buf).lba(Long.MAX_VALUE - 3, 16)));
        assertStatus(NvmeStatus.LBA_OUT_OF_RANGE, io(command(Opcodes.WRITE_ZEROES).nsid(1).lba(blocks - 4, 8)));
    }

    @Test
    void transferBeyondMdts() {
        assertStatus(NvmeStatus.INVALID_FIELD, io(command(Opcodes.READ).nsid(1).prp1(buf).lba(0, 2049)));
        assertStatus(NvmeStatus.INVALID_FIELD,
                rig.admin(command(Opcodes.GET_LOG_PAGE).prp1(buf).cdw(10, 0xFFFF_0000 | Opcodes.LOG_SMART_HEALTH).cdw(11, 0xFFFF)));
    }

    // ---- data pointers ----

    @Test
    void prpOutsideGuestRamIsADataTransferError() {
        byte[] canary = NvmeIoTest.pattern(64, 1);
        NvmeRig.Cqe c = io(command(Opcodes.READ).nsid(1).prp1(NvmeRig.RAM).lba(0, 1));
        assertStatus(NvmeStatus.DATA_TRANSFER_ERROR, c);
        assertStatus(NvmeStatus.DATA_TRANSFER_ERROR, io(command(Opcodes.READ).nsid(1).prp1(NvmeRig.BAR0).lba(0, 1)), "own BAR");
        assertStatus(NvmeStatus.DATA_TRANSFER_ERROR, io(command(Opcodes.WRITE).nsid(1).prp1(-4096L).lba(0, 1)));
        assertStatus(NvmeStatus.DATA_TRANSFER_ERROR,
                io(command(Opcodes.READ).nsid(1).prp1(NvmeRig.RAM - 512).prp2(NvmeRig.RAM).lba(0, 2)),
                "the last bytes of RAM, then the page after it");
        // PRP1 fine, PRP2 outside RAM.
        rig.write(buf, canary);
        assertStatus(NvmeStatus.DATA_TRANSFER_ERROR,
                io(command(Opcodes.READ).nsid(1).prp1(buf).prp2(0x1_0000_0000L).lba(0, 16)));
        assertEquals(canary[0], rig.read(buf, 1)[0], "checked before any data moved");
    }

    @Test
    void misalignedPrps() {
        assertStatus(NvmeStatus.INVALID_PRP_OFFSET, io(command(Opcodes.READ).nsid(1).prp1(buf + 2).lba(0, 1)), "PRP1 not dword aligned");
        assertStatus(NvmeStatus.INVALID_PRP_OFFSET,
                io(command(Opcodes.READ).nsid(1).prp1(buf).prp2(buf + 4096 + 512).lba(0, 16)), "PRP2 with an offset");
        long list = rig.alloc(4096);
        assertStatus(NvmeStatus.INVALID_PRP_OFFSET,
                io(command(Opcodes.READ).nsid(1).prp1(buf).prp2(list + 4).lba(0, 24)), "list pointer not qword aligned");
        rig.write(list, le64(buf + 4096));
        rig.write(list + 8, le64(buf + 100));
        assertStatus(NvmeStatus.INVALID_PRP_OFFSET,
                io(command(Opcodes.READ).nsid(1).prp1(buf).prp2(list).lba(0, 24)), "list entry with an offset");
    }

    @Test
    void prpListOutsideRamOrLooping() {
        assertStatus(NvmeStatus.DATA_TRANSFER_ERROR,
                io(command(Opcodes.READ).nsid(1).prp1(buf).prp2(NvmeRig.RAM + 4096).lba(0, 24)), "list outside RAM");
        long list = rig.alloc(4096);
        rig.write(list, le64(NvmeRig.RAM));
        assertStatus(NvmeStatus.DATA_TRANSFER_ERROR,
                io(command(Opcodes.READ).nsid(1).prp1(buf).prp2(list).lba(0, 24)), "entry outside RAM");
        // A list whose last slot chains back to its own page: a loop.
        long page = rig.alloc(4096);
        long start = page + 4096 - 16;
        rig.write(start, le64(buf));
        rig.write(start + 8, le64(page));
        for (int i = 0; i < 511; i++) {
            rig.write(page + 8L * i, le64(buf));
        }
        rig.write(page + 4088, le64(page));
        NvmeRig.Cqe c = io(command(Opcodes.READ).nsid(1).prp1(buf).prp2(start).lba(0, 2048)); // 1 MiB: needs 256 entries
        assertStatus(NvmeStatus.INVALID_FIELD, c, "loop");
    }

    @Test
    void identifyIntoMemoryThatIsNotRam() {
        assertStatus(NvmeStatus.DATA_TRANSFER_ERROR, rig.admin(command(Opcodes.IDENTIFY).prp1(NvmeRig.RAM).cdw(10, 1)));
        assertStatus(NvmeStatus.DATA_TRANSFER_ERROR,
                rig.admin(command(Opcodes.GET_LOG_PAGE).prp1(NvmeRig.BAR0).cdw(10, (127 << 16) | 2)));
    }

    @Test
    void badDoorbellBufferConfig() {
        assertStatus(NvmeStatus.INVALID_FIELD, rig.admin(command(Opcodes.DOORBELL_BUFFER_CONFIG).prp1(buf + 8).prp2(buf + 4096)));
        assertStatus(NvmeStatus.INVALID_FIELD, rig.admin(command(Opcodes.DOORBELL_BUFFER_CONFIG).prp1(NvmeRig.RAM).prp2(buf)));
        assertStatus(NvmeStatus.INVALID_FIELD, rig.admin(command(Opcodes.DOORBELL_BUFFER_CONFIG).prp1(buf).prp2(buf)));
    }

    /** Random garbage in every field of many commands on both queues; only statuses come back. */
    @Test
    void randomCommandsNeverBreakTheController() {
        Random r = new Random(42);
        for (int i = 0; i < 400; i++) {
            int qid = r.nextInt(4) == 0 ? 0 : 1;
            NvmeRig.Sqe sqe = command(r.nextInt(256));
            for (int d = 1; d < 16; d++) {
                sqe.dw[d] = r.nextInt(8) == 0 ? 0 : r.nextInt();
            }
            if (r.nextBoolean()) {
                sqe.nsid(1);
            }
            int opcode = sqe.dw[0] & 0xFF;
            if (qid == 0 && (opcode == Opcodes.ASYNC_EVENT_REQUEST || opcode == Opcodes.FORMAT_NVM
                    || opcode == Opcodes.DELETE_IO_SQ || opcode == Opcodes.DELETE_IO_CQ
                    || opcode == Opcodes.DOORBELL_BUFFER_CONFIG || opcode == Opcodes.SET_FEATURES)) {
                continue; // legitimate effects that would change what the rest of the test relies on
            }
            if (qid == 1 && (opcode == Opcodes.WRITE || opcode == Opcodes.WRITE_ZEROES || opcode == Opcodes.DATASET_MANAGEMENT)
                    && (sqe.dw[6] & 0xFFF) == 0 && r.nextBoolean()) {
                sqe.prp1(buf); // sometimes valid enough to reach the disk
            }
            rig.run(qid, sqe);
        }
    }
}
