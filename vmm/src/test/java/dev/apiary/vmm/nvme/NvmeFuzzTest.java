package dev.apiary.vmm.nvme;

import static org.junit.jupiter.api.Assertions.*;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A guest driven by a fuzzer: register writes of every size anywhere in BAR0, garbage submission entries on
 * the admin and an I/O queue, doorbells with any value, random bytes over guest memory (queues, PRP lists,
 * data), config-space writes. The controller must never let an exception out, and afterwards a reset
 * (CC.EN 1 → 0 → 1) must bring it back to a working state that answers Identify.
 *
 * <p>In a normal build the seeds in {@code NvmeFuzzTestInputs/} run as regression tests; with
 * {@code JAZZER_FUZZ=1} Jazzer fuzzes with coverage guidance and saves any crashing input there.
 */
class NvmeFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void anyGuestBehaviourLeavesTheControllerRecoverable(FuzzedDataProvider data) throws Exception {
        Path dir = Files.createTempDirectory("nvme-fuzz");
        try (NvmeRig rig = new NvmeRig(dir)) {
            rig.enable();
            rig.createQueuePair(1, 16);
            long scratch = rig.alloc(16 * 4096);
            for (int op = 0; op < 64 && data.remainingBytes() > 0; op++) {
                switch (data.consumeInt(0, 6)) {
                    case 0 -> rig.reg(data.consumeInt(0, 0x1100) & ~3, data.pickValue(new int[] {4, 8}), data.consumeLong());
                    case 1 -> {
                        int qid = data.consumeInt(0, 1);
                        NvmeRig.Queue q = rig.queue(qid);
                        rig.write(q.sq + 64L * (q.sqTail % q.entries), data.consumeBytes(64));
                        rig.sqDoorbell(qid, data.consumeBoolean() ? (q.sqTail + 1) % q.entries : data.consumeInt(0, 40));
                        q.sqTail = (q.sqTail + 1) % q.entries;
                    }
                    case 2 -> rig.cqDoorbell(data.consumeInt(0, 1), data.consumeInt(0, 40));
                    case 3 -> rig.write(scratch + data.consumeInt(0, 15 * 4096), data.consumeBytes(256));
                    case 4 -> {
                        // A command built to reach the I/O paths: read/write/flush/write zeroes/DSM with fuzzed
                        // PRPs and ranges (possibly pointing into the scratch area or anywhere).
                        NvmeRig.Sqe e = NvmeRig.command(data.pickValue(new int[] {0x00, 0x01, 0x02, 0x08, 0x09}))
                                .nsid(data.consumeInt(0, 2))
                                .prp1(data.consumeBoolean() ? scratch + (data.consumeInt(0, 15) << 12) : data.consumeLong())
                                .prp2(data.consumeBoolean() ? scratch + (data.consumeInt(0, 15) << 12) : data.consumeLong())
                                .lba(data.consumeLong(0, 1 << 16), data.consumeInt(1, 512));
                        rig.submit(1, e);
                    }
                    case 5 -> rig.config(data.consumeInt(0, 0xFF), data.pickValue(new int[] {1, 2, 4}), data.consumeInt());
                    default -> Thread.sleep(1);
                }
            }
            // Whatever happened, a reset brings the controller back.
            rig.mapBars();
            rig.reg(NvmeRegs.CC, 4, 0);
            rig.waitFor(() -> (rig.reg32(NvmeRegs.CSTS) & NvmeRegs.CSTS_RDY) == 0, "CSTS.RDY = 0 after CC.EN = 0");
            rig.enable();
            byte[] id = rig.identify(1, 0);
            assertEquals("Apiary NVMe Disk", new String(id, 24, 40).trim());
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
