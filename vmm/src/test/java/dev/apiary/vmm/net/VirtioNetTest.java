package dev.apiary.vmm.net;

import static dev.apiary.vmm.virtio.VirtioRegs.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.virtio.VirtioDriver;
import dev.apiary.vmm.virtio.VirtioDriver.Buf;
import dev.apiary.vmm.virtio.VirtioDriver.Used;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-net driven as Linux's virtio_net does, over an in-memory backend: data path, filter, counters. */
class VirtioNetTest {
    static final long RAM = 16L << 20;
    static final MacAddress MAC = MacAddress.parse("52:54:00:ab:cd:ef");
    static final long FEATURES = bit(F_VERSION_1) | bit(F_RING_EVENT_IDX) | bit(F_RING_INDIRECT_DESC)
            | bit(VirtioNetRegs.F_MAC) | bit(VirtioNetRegs.F_STATUS) | bit(VirtioNetRegs.F_MRG_RXBUF)
            | bit(VirtioNetRegs.F_CTRL_VQ) | bit(VirtioNetRegs.F_CTRL_RX);

    final GuestMemory mem = GuestMemory.allocate(0, RAM);
    final FakeBackend backend = new FakeBackend(true);
    final VirtioNet net = new VirtioNet(mem, MAC, 1500, backend);
    final VirtioDriver drv = new VirtioDriver(mem, net.pciFunction());
    VirtioDriver.Queue rx;
    VirtioDriver.Queue tx;
    VirtioDriver.Queue ctrl;

    VirtioNetTest() {
        net.start();
    }

    @AfterEach
    void stop() {
        net.stop();
    }

    private void up(long features) {
        assertTrue(drv.negotiate(features));
        drv.enableMsix(4);
        drv.common(CONFIG_MSIX_VECTOR, 2, 3);
        rx = drv.queue(0, 16, 0);
        tx = drv.queue(1, 16, 1);
        ctrl = drv.queue(2, 16, 2);
        drv.driverOk();
    }

    static void waitFor(BooleanSupplier c, String what) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("timed out waiting for " + what + (what.contains("stall") ? "" : ""));
            }
            Thread.sleep(2);
        }
    }

    private List<Used> used(VirtioDriver.Queue q, int n) throws Exception {
        List<Used> out = new ArrayList<>();
        long end = System.nanoTime() + 10_000_000_000L;
        while (out.size() < n) {
            out.addAll(q.takeUsed());
            if (System.nanoTime() > end) {
                fail("timed out waiting for " + n + " used entries on queue " + q.index + ", got " + out);
            }
            Thread.sleep(1);
        }
        return out;
    }

    static byte[] frame(MacAddress dst, int length) {
        byte[] f = new byte[VirtioNetRegs.HDR_SIZE + length];
        System.arraycopy(dst.bytes(), 0, f, VirtioNetRegs.HDR_SIZE, 6);
        System.arraycopy(MacAddress.parse("02:00:00:00:00:01").bytes(), 0, f, VirtioNetRegs.HDR_SIZE + 6, 6);
        for (int i = VirtioNetRegs.HDR_SIZE + 12; i < f.length; i++) {
            f[i] = (byte) (i * 31);
        }
        return f;
    }

    private byte[] read(long gpa, int n) throws Exception {
        byte[] b = new byte[n];
        mem.read(gpa, b, 0, n);
        return b;
    }

    private int control(int cls, int cmd, byte... data) throws Exception {
        long b = drv.alloc(4096, 16);
        mem.write(b, new byte[] {(byte) cls, (byte) cmd});
        mem.write(b + 2, data);
        mem.write8(b + 1024, (byte) 0x7F);
        ctrl.offer(ctrl.chain(new Buf(b, 2 + data.length, false), new Buf(b + 1024, 1, true)));
        drv.notify(2);
        assertEquals(1, used(ctrl, 1).get(0).len());
        return mem.read8(b + 1024);
    }

    @Test
    void configurationHasTheMacAndLinkUp() {
        assertEquals(MAC, MacAddress.of(new byte[] {
                (byte) drv.deviceConfig(0, 1), (byte) drv.deviceConfig(1, 1), (byte) drv.deviceConfig(2, 1),
                (byte) drv.deviceConfig(3, 1), (byte) drv.deviceConfig(4, 1), (byte) drv.deviceConfig(5, 1)}, 0));
        assertEquals(1, drv.deviceConfig(6, 2));
        assertEquals(1500, drv.deviceConfig(10, 2));
        assertEquals(0x1041, drv.config(2, 2));
        assertEquals(0x020000, drv.config(8, 4) >>> 8);
    }

    @Test
    void transmitGoesToTheBackendWithItsHeader() throws Exception {
        up(FEATURES);
        byte[] f = frame(MacAddress.parse("02:00:00:00:00:02"), 100);
        long b = drv.alloc(4096, 16);
        mem.write(b, f);
        tx.offer(tx.indirect(new Buf(b, 12, false), new Buf(b + 12, f.length - 12, false)));
        drv.notify(1);
        assertEquals(1, used(tx, 1).size());
        assertArrayEquals(f, backend.sent().get(0));
        assertEquals(1, net.stats().txFrames());
        assertEquals(100, net.stats().txBytes());
        assertTrue(drv.interrupts(1) >= 1);
    }

    @Test
    void badTransmitChainsAreCountedNotSent() throws Exception {
        up(FEATURES);
        long b = drv.alloc(4096, 16);
        tx.offer(tx.chain(new Buf(b, 12, false)));                     // header only: a runt
        tx.offer(tx.chain(new Buf(RAM - 8, 100, false)));              // outside RAM
        tx.offer(tx.chain(new Buf(b, 0xFFFF_FFFFL, false)));           // huge
        drv.notify(1);
        assertEquals(3, used(tx, 3).size());
        assertEquals(3, net.stats().txDropped());
        assertTrue(backend.sent().isEmpty());
        assertEquals(0, drv.status() & STATUS_DEVICE_NEEDS_RESET);
    }

    @Test
    void aLargeFrameSpansMergeableBuffers() throws Exception {
        up(FEATURES);
        long bufs = drv.alloc(4 * 2048, 4096);
        for (int i = 0; i < 4; i++) {
            rx.offer(rx.chain(new Buf(bufs + 2048L * i, 2048, true)));
        }
        drv.notify(0);
        byte[] f = frame(MAC, 3000);
        backend.inject(f);
        List<Used> u = used(rx, 2);
        assertEquals(2048, u.get(0).len());
        assertEquals(f.length - 2048, u.get(1).len());
        byte[] got = read(bufs, f.length);
        assertEquals(2, got[10], "num_buffers");
        got[10] = 0;
        assertArrayEquals(f, got);
        assertEquals(1, net.stats().rxFrames());
    }

    @Test
    void withoutReceiveBuffersFramesWaitAndAreCountedAsStalls() throws Exception {
        up(FEATURES);
        backend.inject(frame(MAC, 60));
        backend.inject(frame(MAC, 61));
        waitFor(() -> net.stats().rxStalls() == 1, "a stall");
        assertEquals(0, net.stats().rxDropped());
        long b = drv.alloc(4096, 4096);
        rx.offer(rx.chain(new Buf(b, 2048, true)));
        rx.offer(rx.chain(new Buf(b + 2048, 2048, true)));
        drv.notify(0);
        List<Used> u = used(rx, 2);
        assertEquals(12 + 60, u.get(0).len());
        assertEquals(12 + 61, u.get(1).len());
        assertEquals(2, net.stats().rxFrames());
        assertEquals(0, net.stats().rxDropped());
    }

    @Test
    void withoutMergeableBuffersAFrameLargerThanTheBufferIsDroppedAndCounted() throws Exception {
        up(FEATURES & ~bit(VirtioNetRegs.F_MRG_RXBUF));
        long b = drv.alloc(4096, 4096);
        rx.offer(rx.chain(new Buf(b, 1000, true)));
        rx.offer(rx.chain(new Buf(b + 2048, 2000, true)));
        drv.notify(0);
        backend.inject(frame(MAC, 1500));
        backend.inject(frame(MAC, 100));
        List<Used> u = used(rx, 2);
        assertEquals(new Used(0, 0), u.get(0));
        assertEquals(new Used(1, 112), u.get(1));
        assertEquals(1, read(b + 2048, 12)[10], "num_buffers is 1 without MRG_RXBUF");
        assertEquals(1, net.stats().rxDropped());
    }

    @Test
    void theControlQueueTurnsFilteringOn() throws Exception {
        up(FEATURES);
        long b = drv.alloc(8 * 2048, 4096);
        for (int i = 0; i < 8; i++) {
            rx.offer(rx.chain(new Buf(b + 2048L * i, 2048, true)));
        }
        drv.notify(0);
        assertEquals(0, control(0, 0, (byte) 0)); // promiscuous off
        MacAddress listed = MacAddress.parse("02:00:00:00:00:77");
        byte[] tables = new byte[4 + 6 + 4];
        tables[0] = 1;
        System.arraycopy(listed.bytes(), 0, tables, 4, 6);
        assertEquals(0, control(1, 0, tables));
        assertEquals(1, control(9, 9), "unknown class: VIRTIO_NET_ERR");
        backend.inject(frame(MacAddress.parse("02:00:00:00:00:99"), 60)); // not ours: filtered
        backend.inject(frame(MacAddress.parse("01:00:5e:00:00:01"), 60)); // multicast, not listed: filtered
        backend.inject(frame(MacAddress.parse("ff:ff:ff:ff:ff:ff"), 60));
        backend.inject(frame(listed, 61));
        backend.inject(frame(MAC, 62));
        List<Used> u = used(rx, 3);
        assertEquals(List.of(72, 73, 74), u.stream().map(Used::len).toList());
        waitFor(() -> net.stats().rxFiltered() == 2, "two filtered frames");
        assertEquals(1, net.stats().controlErrors());
    }

    @Test
    void aBrokenRingNeedsResetAndAResetRecovers() throws Exception {
        up(FEATURES);
        tx.availIdx(100);
        drv.notify(1);
        waitFor(() -> (drv.status() & STATUS_DEVICE_NEEDS_RESET) != 0, "DEVICE_NEEDS_RESET");
        assertEquals(1, net.stats().needsReset());
        up(FEATURES);
        byte[] f = frame(MAC, 60);
        long b = drv.alloc(4096, 16);
        mem.write(b, f);
        tx.offer(tx.chain(new Buf(b, f.length, false)));
        drv.notify(1);
        used(tx, 1);
        assertTrue(Arrays.equals(f, backend.sent().get(0)));
    }

    @Test
    void aFrameLongerThanThePostedBuffersWaitsUntilTheGuestPostsMore() throws Exception {
        up(FEATURES);
        long bufs = drv.alloc(4 * 2048, 4096);
        rx.offer(rx.chain(new Buf(bufs, 2048, true)));
        drv.notify(0);
        byte[] f = frame(MAC, 5000);
        backend.inject(f);
        try {
            waitFor(() -> net.stats().rxStalls() == 1, "a stall: the frame needs more buffers");
        } catch (AssertionError e) {
            throw new AssertionError(net.stats() + " status " + drv.status(), e);
        }
        assertTrue(rx.takeUsed().isEmpty(), "nothing delivered before the guest posts more");
        rx.offer(rx.chain(new Buf(bufs + 2048, 2048, true)));
        rx.offer(rx.chain(new Buf(bufs + 4096, 2048, true)));
        drv.notify(0);
        List<Used> u = used(rx, 3);
        assertEquals(List.of(2048, 2048, f.length - 4096), u.stream().map(Used::len).toList());
        byte[] got = read(bufs, f.length);
        assertEquals(3, got[10], "num_buffers");
        got[10] = 0;
        assertArrayEquals(f, got);
        assertEquals(0, net.stats().rxDropped());
    }

    @Test
    void filteredFramesAndRuntsLeaveTheBufferForTheNextFrame() throws Exception {
        up(FEATURES);
        long b = drv.alloc(4096, 4096);
        rx.offer(rx.chain(new Buf(b, 2048, true)));
        drv.notify(0);
        assertEquals(0, control(0, 0, (byte) 0)); // promiscuous off
        backend.inject(frame(MacAddress.parse("02:00:00:00:00:99"), 60));
        backend.inject(new byte[12 + 10]);
        backend.inject(frame(MAC, 70));
        List<Used> u = used(rx, 1);
        assertEquals(List.of(new Used(0, 12 + 70)), u);
        assertEquals(1, net.stats().rxFiltered());
        assertEquals(1, net.stats().rxDropped());
    }

    @Test
    void theHeaderIsWrittenEvenWhenItSpansDescriptors() throws Exception {
        up(FEATURES);
        long b = drv.alloc(4096, 4096);
        mem.fill(b, 4096, (byte) 0x55);
        rx.offer(rx.chain(new Buf(b, 4, true), new Buf(b + 64, 8, true), new Buf(b + 128, 2000, true)));
        drv.notify(0);
        byte[] f = frame(MAC, 100);
        f[10] = 0x55; // what the kernel leaves in num_buffers (it does not write it)
        backend.inject(f);
        assertEquals(List.of(new Used(0, f.length)), used(rx, 1));
        assertEquals(1, read(b + 64 + 6, 1)[0], "num_buffers at header offset 10, in the second descriptor");
        assertEquals(0, read(b + 64 + 7, 1)[0]);
        assertArrayEquals(Arrays.copyOfRange(f, 12, f.length), read(b + 128, f.length - 12));
    }

    @Test
    void aChainWithMoreBuffersThanOneSystemCallTakesIsGatheredFirst() throws Exception {
        up(FEATURES);
        byte[] f = frame(MacAddress.parse("02:00:00:00:00:02"), 1200);
        long b = drv.alloc(4096, 16);
        mem.write(b, f);
        Buf[] bufs = new Buf[f.length];
        for (int i = 0; i < f.length; i++) {
            bufs[i] = new Buf(b + i, 1, false); // 1212 one-byte buffers: more than UIO_MAXIOV
        }
        tx.offer(tx.indirect(bufs));
        drv.notify(1);
        used(tx, 1);
        assertArrayEquals(f, backend.sent().get(0));
    }

    @Test
    void theGuestsAddressesAreLearnedFromWhatItSends() throws Exception {
        up(FEATURES);
        long b = drv.alloc(4096, 16);
        // ARP request from the guest: sender 10.1.2.3.
        byte[] arp = new byte[12 + 42];
        System.arraycopy(MacAddress.parse("ff:ff:ff:ff:ff:ff").bytes(), 0, arp, 12, 6);
        System.arraycopy(MAC.bytes(), 0, arp, 18, 6);
        arp[24] = 0x08;
        arp[25] = 0x06;
        System.arraycopy(MAC.bytes(), 0, arp, 12 + 22, 6);
        System.arraycopy(new byte[] {10, 1, 2, 3}, 0, arp, 12 + 28, 4);
        // IPv4 from another MAC (spoofed or bridged): ignored.
        byte[] other = arp.clone();
        System.arraycopy(MacAddress.parse("02:00:00:00:00:05").bytes(), 0, other, 18, 6);
        System.arraycopy(new byte[] {10, 9, 9, 9}, 0, other, 12 + 28, 4);
        // IPv6 from the guest: 2001:db8::7, and a link-local one (not reported).
        byte[] v6 = new byte[12 + 14 + 40];
        System.arraycopy(MAC.bytes(), 0, v6, 18, 6);
        v6[24] = (byte) 0x86;
        v6[25] = (byte) 0xDD;
        v6[26] = 0x60;
        v6[12 + 22] = 0x20;
        v6[12 + 23] = 0x01;
        v6[12 + 24] = 0x0d;
        v6[12 + 25] = (byte) 0xb8;
        v6[12 + 37] = 7;
        byte[] ll = v6.clone();
        ll[12 + 22] = (byte) 0xfe;
        ll[12 + 23] = (byte) 0x80;
        int[] changes = {0};
        net.onGuestAddressesChanged(() -> changes[0]++);
        byte[][] frames = {arp, other, v6, ll, arp};
        for (int i = 0; i < frames.length; i++) {
            mem.write(b + 128L * i, frames[i]);
            tx.offer(tx.chain(new Buf(b + 128L * i, frames[i].length, false)));
        }
        drv.notify(1);
        used(tx, frames.length);
        assertEquals(List.of("10.1.2.3", "2001:db8:0:0:0:0:0:7"), net.guestAddresses());
        assertEquals(2, changes[0]);
    }

    @Test
    void aBackendWithoutHeaderGetsBareFramesAndTheGuestAZeroHeader() throws Exception {
        FakeBackend bare = new FakeBackend(false);
        VirtioNet n = new VirtioNet(mem, MAC, 1500, bare);
        VirtioDriver d = new VirtioDriver(mem, n.pciFunction());
        n.start();
        try {
            assertEquals(0, n.features() & bit(VirtioNetRegs.F_CSUM), "no offloads without a header");
            assertTrue(d.negotiate(FEATURES));
            d.enableMsix(4);
            VirtioDriver.Queue r = d.queue(0, 16, 0);
            VirtioDriver.Queue t = d.queue(1, 16, 1);
            d.queue(2, 16, 2);
            d.driverOk();
            byte[] f = frame(MacAddress.parse("02:00:00:00:00:02"), 80);
            long b = d.alloc(8192, 4096);
            mem.write(b, f);
            t.offer(t.chain(new Buf(b, f.length, false)));
            d.notify(1);
            waitFor(() -> bare.sent().size() == 1, "a frame sent");
            assertArrayEquals(Arrays.copyOfRange(f, 12, f.length), bare.sent().get(0), "the frame without header");
            mem.fill(b + 4096, 2048, (byte) 0x77);
            r.offer(r.chain(new Buf(b + 4096, 2048, true)));
            d.notify(0);
            byte[] in = Arrays.copyOfRange(frame(MAC, 64), 12, 12 + 14 + 64);
            bare.inject(in);
            waitFor(() -> n.stats().rxFrames() == 1, "a frame received");
            byte[] hdr = read(b + 4096, 12);
            assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, hdr, "zero header, num_buffers 1");
            assertArrayEquals(in, read(b + 4096 + 12, in.length));
        } finally {
            n.stop();
        }
    }
}
