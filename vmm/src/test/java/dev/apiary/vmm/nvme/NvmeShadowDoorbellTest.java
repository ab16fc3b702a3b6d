package dev.apiary.vmm.nvme;

import static dev.apiary.vmm.nvme.NvmeRig.command;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.vmm.pci.PciRegs;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Doorbell Buffer Config as Linux uses it (drivers/nvme/host/pci.c, nvme_dbbuf_*): the driver writes the
 * shadow doorbell, and rings the real one only when EventIdx says so; the ring arrives without a value,
 * through the machine's ioeventfd (here a recording registrar the test fires by hand).
 */
class NvmeShadowDoorbellTest {
    @TempDir
    Path dir;
    NvmeRig rig;
    final Registrar registrar = new Registrar();
    long shadow;
    long eventIdx;

    /** Stands in for KVM_IOEVENTFD: remembers the routed addresses; {@link #fire} is a guest write there. */
    static final class Registrar implements IoEventRegistrar {
        final Map<Long, Runnable> active = new ConcurrentHashMap<>();
        volatile boolean refuse;

        @Override
        public Registration register(long address, int length, Runnable onWrite) {
            if (refuse) {
                return null;
            }
            assertEquals(4, length);
            active.put(address, onWrite);
            return () -> active.remove(address, onWrite);
        }

        void fire(long address) {
            Runnable r = active.get(address);
            assertNotNull(r, "no ioeventfd at 0x" + Long.toHexString(address));
            r.run();
        }
    }

    @AfterEach
    void tearDown() {
        if (rig != null) {
            rig.close();
        }
    }

    void setUp(int entries) throws Exception {
        rig = new NvmeRig(dir, NvmeConfig.defaults("SHADOW", 2), 1 << 20, false, registrar);
        rig.enableMsix();
        rig.enable();
        // Linux creates the I/O queues first, then sends Doorbell Buffer Config.
        rig.createQueuePair(1, entries);
        shadow = rig.alloc(4096);
        eventIdx = rig.alloc(4096);
        rig.adminOk(command(Opcodes.DOORBELL_BUFFER_CONFIG).prp1(shadow).prp2(eventIdx));
    }

    static long sqDoorbell(long bar, int qid) {
        return bar + NvmeRegs.DOORBELLS + 8L * qid;
    }

    static long cqDoorbell(long bar, int qid) {
        return bar + NvmeRegs.DOORBELLS + 8L * qid + 4;
    }

    /** nvme_dbbuf_need_event. */
    static boolean needEvent(int eventIdx, int newIdx, int old) {
        return ((newIdx - eventIdx - 1) & 0xFFFF) < ((newIdx - old) & 0xFFFF);
    }

    /** Places a command, updates the shadow tail and rings (valueless) only if EventIdx asks for it. */
    boolean submitShadowed(int qid, NvmeRig.Sqe sqe) {
        NvmeRig.Queue q = rig.queue(qid);
        int old = q.sqTail;
        rig.place(qid, sqe);
        rig.write32(shadow + 8L * qid, q.sqTail);
        java.lang.invoke.VarHandle.fullFence();
        boolean ring = needEvent(rig.read32(eventIdx + 8L * qid), q.sqTail, old);
        if (ring) {
            registrar.fire(sqDoorbell(NvmeRig.BAR0, qid));
        }
        return ring;
    }

    /** Takes one completion, moving the head in the shadow only (and ringing if EventIdx asks). */
    NvmeRig.Cqe consumeShadowed(int qid) {
        NvmeRig.Queue q = rig.queue(qid);
        long at = q.cq + 16L * q.cqHead;
        rig.waitFor(() -> ((rig.read32(at + 12) >>> 16) & 1) == (q.phase ? 1 : 0), "completion");
        int dw3 = rig.read32(at + 12);
        int old = q.cqHead;
        q.cqHead++;
        if (q.cqHead == q.entries) {
            q.cqHead = 0;
            q.phase = !q.phase;
        }
        rig.write32(shadow + 8L * qid + 4, q.cqHead);
        java.lang.invoke.VarHandle.fullFence();
        if (needEvent(rig.read32(eventIdx + 8L * qid + 4), q.cqHead, old)) {
            registrar.fire(cqDoorbell(NvmeRig.BAR0, qid));
        }
        return new NvmeRig.Cqe(rig.read32(at), 0, 0, dw3 & 0xFFFF, dw3 >>> 17, true);
    }

    @Test
    void ioQueueDoorbellsAreRoutedToIoeventfdsButTheAdminQueueIsNot() throws Exception {
        setUp(16);
        assertEquals(2, registrar.active.size());
        assertTrue(registrar.active.containsKey(sqDoorbell(NvmeRig.BAR0, 1)));
        assertTrue(registrar.active.containsKey(cqDoorbell(NvmeRig.BAR0, 1)));
        // A queue created after Doorbell Buffer Config gets its ioeventfds at creation.
        rig.createQueuePair(2, 16);
        assertEquals(4, registrar.active.size());
        assertTrue(registrar.active.containsKey(sqDoorbell(NvmeRig.BAR0, 2)));
        rig.adminOk(command(Opcodes.DELETE_IO_SQ).cdw(10, 2));
        rig.adminOk(command(Opcodes.DELETE_IO_CQ).cdw(10, 2));
        assertEquals(2, registrar.active.size(), "deleted queues lose their ioeventfds");
    }

    @Test
    void valuelessRingsMakeTheDeviceReadTheShadowTail() throws Exception {
        setUp(16);
        long buf = rig.alloc(4096);
        for (int i = 0; i < 40; i++) {
            boolean rang = submitShadowed(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(i, 1));
            // An idle device's EventIdx asks for a ring every time. The one legitimate exception: the queue
            // thread had not gone idle yet, re-read the shadow tail after publishing EventIdx and took the
            // command without a ring; then EventIdx has already moved past it.
            int tail = rig.queue(1).sqTail;
            assertTrue(rang || rig.read32(eventIdx + 8) == tail, "idle device: EventIdx asks for a ring every time");
            NvmeRig.Cqe c = consumeShadowed(1);
            assertEquals(0, c.status());
            // The device publishes EventIdx = the SQ head it reached.
            int head = rig.queue(1).sqTail;
            rig.waitFor(() -> rig.read32(eventIdx + 8) == head, "SQ EventIdx " + head);
        }
    }

    @Test
    void batchesNeedOneRing() throws Exception {
        setUp(64);
        long buf = rig.alloc(4096);
        NvmeRig.Queue q = rig.queue(1);
        // Place 20 commands, publish the tail once, ring once: all complete.
        for (int i = 0; i < 20; i++) {
            rig.place(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(i, 1));
        }
        rig.write32(shadow + 8, q.sqTail);
        registrar.fire(sqDoorbell(NvmeRig.BAR0, 1));
        for (int i = 0; i < 20; i++) {
            assertEquals(0, consumeShadowed(1).status());
        }
    }

    @Test
    void aFullCompletionQueueResumesWhenTheShadowHeadMoves() throws Exception {
        setUp(4); // 3 usable CQ slots
        long buf = rig.alloc(4096);
        NvmeRig.Queue q = rig.queue(1);
        for (int i = 0; i < 3; i++) {
            rig.place(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(i, 1));
        }
        rig.write32(shadow + 8, q.sqTail);
        registrar.fire(sqDoorbell(NvmeRig.BAR0, 1));
        // Wait for all three, without consuming (the driver is slow).
        long last = q.cq + 16L * 2;
        rig.waitFor(() -> ((rig.read32(last + 12) >>> 16) & 1) == 1, "three completions");
        // Two more: the CQ is full, so the device must not fetch them yet.
        rig.place(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(7, 1));
        rig.place(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(8, 1));
        rig.write32(shadow + 8, q.sqTail);
        registrar.fire(sqDoorbell(NvmeRig.BAR0, 1));
        Thread.sleep(100);
        assertEquals(0, (rig.read32(q.cq + 16L * 3 + 12) >>> 16) & 1, "no fourth entry in a 4-entry CQ");
        // Consuming through the shadow head (ringing when EventIdx says so) lets the rest complete.
        for (int i = 0; i < 5; i++) {
            assertEquals(0, consumeShadowed(1).status(), "completion " + i);
        }
    }

    @Test
    void withoutIoeventfdTheMmioDoorbellStillWorks() throws Exception {
        registrar.refuse = true;
        setUp(16);
        assertTrue(registrar.active.isEmpty());
        long buf = rig.alloc(4096);
        for (int i = 0; i < 20; i++) {
            NvmeRig.Queue q = rig.queue(1);
            int old = q.sqTail;
            rig.place(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(i, 1));
            rig.write32(shadow + 8, q.sqTail);
            if (needEvent(rig.read32(eventIdx + 8), q.sqTail, old)) {
                rig.sqDoorbell(1, q.sqTail);
            }
            assertEquals(0, rig.complete(1).status());
        }
    }

    @Test
    void resetAndBarMovesFollowTheRegistrations() throws Exception {
        setUp(16);
        long moved = 0xE000_0000L;
        rig.config(PciRegs.BAR0, 4, moved);
        assertTrue(registrar.active.containsKey(sqDoorbell(moved, 1)), "re-registered at the new BAR0");
        assertTrue(registrar.active.containsKey(cqDoorbell(moved, 1)));
        assertEquals(2, registrar.active.size());
        rig.config(PciRegs.COMMAND, 2, 0);
        assertTrue(registrar.active.isEmpty(), "memory decode off: nothing routed");
        rig.config(PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY_SPACE | PciRegs.COMMAND_BUS_MASTER);
        assertEquals(2, registrar.active.size());
        rig.config(PciRegs.BAR0, 4, NvmeRig.BAR0);
        rig.disable();
        assertTrue(registrar.active.isEmpty(), "controller reset drops shadow doorbells and their ioeventfds");
    }

    @Test
    void anInvalidShadowValueIsReportedNotFollowed() throws Exception {
        setUp(16);
        int aer = rig.submit(0, command(Opcodes.ASYNC_EVENT_REQUEST));
        rig.write32(shadow + 8, 500); // beyond the 16-entry queue
        registrar.fire(sqDoorbell(NvmeRig.BAR0, 1));
        NvmeRig.Cqe c = rig.complete(0);
        assertEquals(aer, c.cid());
        assertEquals(Opcodes.AE_INFO_INVALID_DOORBELL_VALUE, (c.dw0() >>> 8) & 0xFF);
        assertNull(rig.poll(1, 100_000_000L), "nothing fetched");
        rig.write32(shadow + 8, 0);
        long buf = rig.alloc(4096);
        assertTrue(submitShadowed(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(0, 1)));
        assertEquals(0, consumeShadowed(1).status());
    }
}
