package dev.apiary.vmm.virtio;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.nio.ByteBuffer;

/**
 * A virtio device for transport tests (type 0x3F, one queue): each chain's readable bytes are copied,
 * reversed, into its writable bytes. It works on the notifying thread, which a real device must not do;
 * here it keeps tests deterministic.
 */
final class EchoDevice implements VirtioDevice {
    final GuestMemory mem;
    final VirtioPciTransport transport;
    final int queueSize;
    volatile long activated = -1;
    int faults;
    int resets;

    EchoDevice(GuestMemory mem, int queueSize) {
        this.mem = mem;
        this.queueSize = queueSize;
        this.transport = new VirtioPciTransport(this, mem);
    }

    @Override
    public int type() {
        return 0x3F;
    }

    @Override
    public int pciClass() {
        return 0xFF0000;
    }

    @Override
    public long features() {
        return VirtioRegs.bit(VirtioRegs.F_RING_INDIRECT_DESC) | VirtioRegs.bit(VirtioRegs.F_RING_EVENT_IDX) | 1;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public int maxQueueSize(int q) {
        return queueSize;
    }

    @Override
    public int configLength() {
        return 4;
    }

    @Override
    public long readConfig(int offset, int size) {
        return 0x12345678L >>> (8 * offset);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {}

    @Override
    public void activate(long features) {
        activated = features;
    }

    @Override
    public void queueNotify(int q) {
        Virtqueue vq = transport.queue(q);
        try {
            int n = 0;
            for (Chain c; (c = vq.pop()) != null && n < 4 * queueSize; n++) {
                if (c.fault() != null) {
                    faults++;
                    vq.push(c, 0);
                    continue;
                }
                ByteBuffer in = ByteBuffer.allocate((int) Math.min(c.readableBytes(), 1 << 16));
                c.gather(mem, 0, in);
                byte[] b = new byte[in.position()];
                for (int i = 0; i < b.length; i++) {
                    b[i] = in.get(b.length - 1 - i);
                }
                int written = c.scatter(mem, 0, ByteBuffer.wrap(b));
                vq.push(c, written);
            }
            vq.enableNotifications();
            if (vq.shouldInterrupt()) {
                transport.interruptQueue(vq);
            }
        } catch (VirtqueueException e) {
            transport.needsReset(e.getMessage());
        } catch (GuestMemoryException e) {
            transport.needsReset(e.getMessage());
        }
    }

    @Override
    public void deviceReset() {
        resets++;
        activated = -1;
    }
}
