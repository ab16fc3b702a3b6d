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
                fail("timed out waiting for " + what);
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
}
