package dev.apiary.vmm.virtio;

import static dev.apiary.vmm.virtio.VirtioRegs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.virtio.VirtioDriver.Buf;
import dev.apiary.vmm.virtio.VirtioDriver.Used;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A hostile driver against the split rings: each case ends in DEVICE_NEEDS_RESET (with a configuration
 * interrupt) or in the one chain coming back empty and counted; never an exception, a hang or an access
 * outside guest RAM. After a reset the device works again.
 */
class VirtqueueHostileTest {
    static final long RAM = 16L << 20;
    static final long FEATURES = bit(F_VERSION_1) | bit(F_RING_INDIRECT_DESC) | bit(F_RING_EVENT_IDX);

    final GuestMemory mem = GuestMemory.allocate(0, RAM);
    final EchoDevice dev = new EchoDevice(mem, 64);
    final VirtioDriver drv = new VirtioDriver(mem, dev.transport.pciFunction());
    final long buf = drv.alloc(4096, 4096);

    private VirtioDriver.Queue ready(long features, int size) {
        assertTrue(drv.negotiate(features));
        drv.enableMsix(2);
        drv.common(CONFIG_MSIX_VECTOR, 2, 1);
        VirtioDriver.Queue q = drv.queue(0, size, 0);
        drv.driverOk();
        return q;
    }

    private void assertNeedsResetAndRecovers() throws Exception {
        assertNotEquals(0, drv.status() & STATUS_DEVICE_NEEDS_RESET, "DEVICE_NEEDS_RESET");
        assertEquals(1, drv.interrupts(1), "configuration interrupt");
        assertEquals(1, dev.transport.needsResetCount());
        VirtioDriver.Queue q = ready(FEATURES, 16);
        assertEquals(0, drv.status() & STATUS_DEVICE_NEEDS_RESET);
        q.offer(q.chain(new Buf(buf, 1, false), new Buf(buf + 8, 1, true)));
        drv.notify(0);
        assertEquals(1, q.takeUsed().size(), "the device works after a reset");
    }

    @Test
    void aDescriptorLoop() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        q.writeDesc(0, buf, 1, DESC_F_NEXT, 1);
        q.writeDesc(1, buf, 1, DESC_F_NEXT, 0);
        q.offer(0);
        drv.notify(0);
        assertEquals(0, q.usedIdx());
        assertNeedsResetAndRecovers();
    }

    @Test
    void aSelfLoopInAnIndirectTable() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        long table = drv.alloc(64, 16);
        mem.write64(table, buf);
        mem.write32(table + 8, 1);
        mem.write16(table + 12, (short) DESC_F_NEXT);
        mem.write16(table + 14, (short) 0);
        q.writeDesc(0, table, 64, DESC_F_INDIRECT, 0);
        q.offer(0);
        drv.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void aNextIndexOutsideTheTable() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        q.writeDesc(0, buf, 1, DESC_F_NEXT, 16);
        q.offer(0);
        drv.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void aHeadIndexOutsideTheTable() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        q.offer(0xFFFF);
        drv.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void anAvailableIndexFarAheadOfTheDevice() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        q.availIdx(17);
        drv.notify(0);
        assertEquals(0, q.usedIdx());
        assertNeedsResetAndRecovers();
    }

    @Test
    void aChainLongerThanTheQueueThroughAnIndirectTable() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        long table = drv.alloc(16L * Virtqueue.MAX_INDIRECT + 16, 16);
        q.writeDesc(0, table, 16L * (Virtqueue.MAX_INDIRECT + 1), DESC_F_INDIRECT, 0);
        q.offer(0);
        drv.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void nestedIndirectTables() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        long inner = drv.alloc(16, 16);
        long outer = drv.alloc(16, 16);
        mem.write64(inner, buf);
        mem.write32(inner + 8, 1);
        mem.write64(outer, inner);
        mem.write32(outer + 8, 16);
        mem.write16(outer + 12, (short) DESC_F_INDIRECT);
        q.writeDesc(0, outer, 16, DESC_F_INDIRECT, 0);
        q.offer(0);
        drv.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void indirectWithoutTheFeature() throws Exception {
        VirtioDriver.Queue q = ready(bit(F_VERSION_1), 16);
        q.offer(q.indirect(new Buf(buf, 1, false), new Buf(buf + 8, 1, true)));
        drv.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void anIndirectTableOutsideRam() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        q.writeDesc(0, RAM - 16, 64, DESC_F_INDIRECT, 0);
        q.offer(0);
        drv.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void aQueueSizeThatIsNotAPowerOfTwo() throws Exception {
        assertTrue(drv.negotiate(FEATURES));
        drv.enableMsix(2);
        drv.common(CONFIG_MSIX_VECTOR, 2, 1);
        drv.queue(0, 12, 0);
        drv.common(QUEUE_SELECT, 2, 0);
        assertEquals(0, drv.common(QUEUE_ENABLE, 2), "not enabled");
        drv.driverOk();
        assertNotEquals(0, drv.status() & STATUS_DEVICE_NEEDS_RESET);
        drv.msi.clear();
        VirtioDriver.Queue q = ready(FEATURES, 16);
        q.offer(q.chain(new Buf(buf, 1, false), new Buf(buf + 8, 1, true)));
        drv.notify(0);
        assertEquals(1, q.takeUsed().size());
    }

    @Test
    void ringsOutsideRam() throws Exception {
        assertTrue(drv.negotiate(FEATURES));
        drv.common(QUEUE_SELECT, 2, 0);
        drv.common(QUEUE_SIZE, 2, 16);
        drv.common(QUEUE_DESC, 4, RAM - 64);
        drv.common(QUEUE_DRIVER, 4, 0x1000);
        drv.common(QUEUE_DEVICE, 4, 0x2000);
        drv.common(QUEUE_ENABLE, 2, 1);
        assertEquals(0, drv.common(QUEUE_ENABLE, 2));
        assertNotEquals(0, drv.status() & STATUS_DEVICE_NEEDS_RESET);
    }

    @Test
    void buffersOutsideRamComeBackEmptyAndTheQueueGoesOn() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        int bad1 = q.chain(new Buf(RAM - 2, 4, false), new Buf(buf, 8, true));
        int bad2 = q.chain(new Buf(buf, 1, false), new Buf(0xFFFF_FFFF_FFFF_F000L, 0x2000, true));
        int huge = q.chain(new Buf(buf, 0xFFFF_FFFFL, false), new Buf(buf, 8, true));
        int good = q.chain(new Buf(buf, 1, false), new Buf(buf + 8, 1, true));
        q.offer(bad1);
        q.offer(bad2);
        q.offer(huge);
        q.offer(good);
        drv.notify(0);
        assertEquals(List.of(new Used(bad1, 0), new Used(bad2, 0), new Used(huge, 0), new Used(good, 1)), q.takeUsed());
        assertEquals(3, dev.faults);
        assertEquals(0, drv.status() & STATUS_DEVICE_NEEDS_RESET);
    }

    @Test
    void zeroLengthBuffersAreHarmless() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        int head = q.chain(new Buf(buf, 0, false), new Buf(0, 0, false), new Buf(buf + 8, 0, true));
        q.offer(head);
        drv.notify(0);
        assertEquals(List.of(new Used(head, 0)), q.takeUsed());
        assertEquals(0, dev.faults);
    }

    @Test
    void aReadableBufferAfterAWritableOneIsAFaultyChain() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, 16);
        int head = q.chain(new Buf(buf, 1, true), new Buf(buf + 8, 1, false));
        q.offer(head);
        drv.notify(0);
        assertEquals(List.of(new Used(head, 0)), q.takeUsed());
        assertEquals(1, dev.faults);
    }

    @Test
    void driverOkWithoutFeaturesOk() {
        drv.status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_DRIVER_OK);
        assertNotEquals(0, drv.status() & STATUS_DEVICE_NEEDS_RESET);
        assertEquals(-1, dev.activated);
    }
}
