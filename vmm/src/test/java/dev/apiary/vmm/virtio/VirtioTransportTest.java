package dev.apiary.vmm.virtio;

import static dev.apiary.vmm.virtio.VirtioRegs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.pci.PciInterruptRouting;
import dev.apiary.vmm.pci.PciRegs;
import dev.apiary.vmm.virtio.VirtioDriver.Buf;
import dev.apiary.vmm.virtio.VirtioDriver.Used;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The transport as a guest driver sees it: identity, capabilities, negotiation, queues, interrupts, reset. */
class VirtioTransportTest {
    static final long RAM = 16L << 20;
    static final long FEATURES = bit(F_VERSION_1) | bit(F_RING_INDIRECT_DESC) | bit(F_RING_EVENT_IDX);

    final GuestMemory mem = GuestMemory.allocate(0, RAM);
    final EchoDevice dev = new EchoDevice(mem, 64);
    final VirtioDriver drv = new VirtioDriver(mem, dev.transport.pciFunction());

    private VirtioDriver.Queue ready(long features, boolean msix) {
        assertTrue(drv.negotiate(features));
        if (msix) {
            drv.enableMsix(2);
            drv.common(CONFIG_MSIX_VECTOR, 2, 1);
        }
        VirtioDriver.Queue q = drv.queue(0, 16, msix ? 0 : NO_VECTOR);
        drv.driverOk();
        return q;
    }

    private byte[] bytes(long gpa, int n) throws Exception {
        byte[] b = new byte[n];
        mem.read(gpa, b, 0, n);
        return b;
    }

    @Test
    void identityAndCapabilitiesAreThoseOfAModernVirtioDevice() {
        assertEquals(0x1AF4, drv.config(PciRegs.VENDOR_ID, 2));
        assertEquals(0x1040 + 0x3F, drv.config(PciRegs.DEVICE_ID, 2));
        assertEquals(1, drv.config(PciRegs.REVISION_ID, 1));
        assertEquals(0x1AF4, drv.config(PciRegs.SUBSYSTEM_VENDOR_ID, 2));
        assertTrue(drv.config(PciRegs.SUBSYSTEM_ID, 2) >= 0x40);
        List<Integer> caps = drv.capabilities(PciRegs.CAP_ID_VENDOR);
        assertEquals(4, caps.size());
        int[] types = new int[5];
        for (int c : caps) {
            int type = (int) drv.config(c + 3, 1);
            types[type]++;
            assertEquals(0, drv.config(c + 4, 1), "BAR");
            long offset = drv.config(c + 8, 4);
            switch (type) {
                case CAP_COMMON_CFG -> assertEquals(VirtioPciTransport.COMMON_OFFSET, offset);
                case CAP_ISR_CFG -> assertEquals(VirtioPciTransport.ISR_OFFSET, offset);
                case CAP_DEVICE_CFG -> assertEquals(VirtioPciTransport.DEVICE_OFFSET, offset);
                case CAP_NOTIFY_CFG -> {
                    assertEquals(20, drv.config(c + 2, 1), "cap_len of the notify capability");
                    assertEquals(VirtioPciTransport.NOTIFY_OFFSET, offset);
                    assertEquals(VirtioPciTransport.NOTIFY_MULTIPLIER, drv.config(c + 16, 4));
                }
                default -> fail("unexpected cfg_type " + type);
            }
        }
        assertArrayEquals(new int[] {0, 1, 1, 1, 1}, types);
        assertEquals(1, drv.capabilities(PciRegs.CAP_ID_MSIX).size());
        assertEquals(0x5678, drv.deviceConfig(0, 2));
        assertEquals(1, drv.common(NUM_QUEUES, 2));
        drv.common(QUEUE_SELECT, 2, 0);
        assertEquals(64, drv.common(QUEUE_SIZE, 2), "queue_size reads the maximum after reset");
    }

    @Test
    void featuresOkNeedsVersion1AndASubsetOfTheOffer() {
        assertEquals(dev.features() | bit(F_VERSION_1), drv.deviceFeatures());
        assertFalse(drv.negotiate(bit(F_RING_EVENT_IDX)), "legacy (no VERSION_1) is refused");
        assertFalse(drv.negotiate(bit(F_VERSION_1) | bit(40)), "a feature not offered is refused");
        assertTrue(drv.negotiate(FEATURES));
        assertEquals(FEATURES, dev.transport.negotiatedFeatures());
        drv.driverOk();
        assertEquals(FEATURES, dev.activated);
    }

    @Test
    void aRequestTravelsThroughTheRingsWithAnMsixInterrupt() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, true);
        long in = drv.alloc(4096, 4096);
        long out = drv.alloc(4096, 4096);
        mem.write(in, "hello".getBytes());
        q.offer(q.chain(new Buf(in, 5, false), new Buf(out, 100, true)));
        drv.notify(0);
        assertEquals(List.of(new Used(0, 5)), q.takeUsed());
        assertEquals("olleh", new String(bytes(out, 5)));
        assertEquals(1, drv.interrupts(0));
        assertEquals(0, drv.interrupts(1));
    }

    @Test
    void indirectDescriptorsAreFollowed() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, true);
        long in = drv.alloc(4096, 4096);
        long out = drv.alloc(4096, 4096);
        mem.write(in, "abcdef".getBytes());
        int head = q.indirect(new Buf(in, 3, false), new Buf(in + 3, 3, false), new Buf(out, 2, true), new Buf(out + 2, 10, true));
        q.offer(head);
        drv.notify(0);
        assertEquals(List.of(new Used(head, 6)), q.takeUsed());
        assertEquals("fedcba", new String(bytes(out, 6)));
    }

    @Test
    void eventIndexSuppressesInterruptsUntilTheDriverAsks() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, true);
        long buf = drv.alloc(4096, 4096);
        q.usedEvent(5); // interrupt only when used idx passes 5
        for (int i = 0; i < 6; i++) {
            q.offer(q.chain(new Buf(buf, 1, false), new Buf(buf + 8, 1, true)));
            drv.notify(0);
        }
        assertEquals(6, q.usedIdx());
        assertEquals(1, drv.interrupts(0), "one interrupt, when used idx went from 5 to 6");
        assertEquals(6, q.availEvent(), "the device asks to be notified at the next chain");
    }

    @Test
    void withoutMsixTheDeviceUsesIsrAndIntx() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, false);
        long buf = drv.alloc(4096, 4096);
        q.offer(q.chain(new Buf(buf, 1, false), new Buf(buf + 8, 1, true)));
        drv.notify(0);
        int gsi = PciInterruptRouting.gsi(VirtioDriver.SLOT, 1);
        assertTrue(drv.gsis.get(gsi).level());
        assertEquals(ISR_QUEUE, drv.isr());
        assertFalse(drv.gsis.get(gsi).level(), "reading ISR deasserts INTx");
        assertEquals(0, drv.isr());
    }

    @Test
    void vectorsBeyondTheTableReadBackAsNoVector() {
        drv.common(CONFIG_MSIX_VECTOR, 2, 7);
        assertEquals(NO_VECTOR, drv.common(CONFIG_MSIX_VECTOR, 2));
        drv.common(QUEUE_SELECT, 2, 0);
        drv.common(QUEUE_MSIX_VECTOR, 2, 1);
        assertEquals(1, drv.common(QUEUE_MSIX_VECTOR, 2));
    }

    @Test
    void writingStatusZeroResetsEverything() throws Exception {
        VirtioDriver.Queue q = ready(FEATURES, true);
        long buf = drv.alloc(4096, 4096);
        q.offer(q.chain(new Buf(buf, 1, false), new Buf(buf + 8, 1, true)));
        drv.notify(0);
        drv.status(0);
        assertEquals(0, drv.status());
        assertEquals(2, dev.resets, "one by the driver's negotiation, one now");
        drv.common(QUEUE_SELECT, 2, 0);
        assertEquals(0, drv.common(QUEUE_ENABLE, 2));
        assertEquals(64, drv.common(QUEUE_SIZE, 2));
        assertEquals(NO_VECTOR, drv.common(QUEUE_MSIX_VECTOR, 2));
        assertEquals(0, drv.common(QUEUE_DESC, 4));
        // and it works again from scratch
        VirtioDriver.Queue q2 = ready(FEATURES, true);
        q2.offer(q2.chain(new Buf(buf, 1, false), new Buf(buf + 8, 1, true)));
        drv.notify(0);
        assertEquals(1, q2.takeUsed().size());
    }

    @Test
    void queueRegistersAreFrozenOnceEnabled() {
        VirtioDriver.Queue q = ready(FEATURES, true);
        drv.common(QUEUE_SELECT, 2, 0);
        drv.common(QUEUE_SIZE, 2, 4);
        drv.common(QUEUE_DESC, 4, 0x1234000);
        assertEquals(16, drv.common(QUEUE_SIZE, 2));
        assertEquals(q.desc, drv.common(QUEUE_DESC, 4));
    }
}
