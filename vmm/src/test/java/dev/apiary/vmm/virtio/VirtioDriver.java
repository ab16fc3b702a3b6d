package dev.apiary.vmm.virtio;

import static dev.apiary.vmm.virtio.VirtioRegs.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import dev.apiary.vmm.pci.PciBus;
import dev.apiary.vmm.pci.PciFunction;
import dev.apiary.vmm.pci.PciRegs;
import dev.apiary.vmm.pci.RecordingInterruptLine;
import dev.apiary.vmm.pci.RecordingMsiSink;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A machine around one virtio PCI function and a small virtio driver that drives it as Linux's
 * virtio_pci_modern does: configuration space (BAR, MSI-X), the common configuration, rings in guest memory,
 * notifications. Tests write hostile rings with the same tools.
 */
public final class VirtioDriver {
    public static final int SLOT = 16;
    public static final long BAR = 0xF000_0000L;
    public static final long MSI_ADDRESS = 0xFEE0_0000L;
    public static final int MSI_DATA_BASE = 0x40;

    public final GuestMemory mem;
    public final Bus ports = new Bus("ports");
    public final Bus mmio = new Bus("mmio");
    public final Map<Integer, RecordingInterruptLine> gsis = new HashMap<>();
    public final RecordingMsiSink msi = new RecordingMsiSink();
    public final PciBus pci = new PciBus(ports, mmio, g -> gsis.computeIfAbsent(g, x -> new RecordingInterruptLine()), msi);
    private long nextFree = 0x10000;

    public VirtioDriver(GuestMemory mem, PciFunction function) {
        this.mem = mem;
        pci.mapConfigPorts();
        pci.attach(SLOT, 0, function);
        config(PciRegs.BAR0, 4, BAR);
        config(PciRegs.BAR0 + 4, 4, 0);
        config(PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY_SPACE | PciRegs.COMMAND_BUS_MASTER);
    }

    // ---- configuration space ----

    public long config(int register, int size) {
        ports.write(0xCF8, 4, 0x8000_0000L | (SLOT << 11) | (register & 0xFC));
        return ports.read(0xCFC + (register & 3), size);
    }

    public void config(int register, int size, long value) {
        ports.write(0xCF8, 4, 0x8000_0000L | (SLOT << 11) | (register & 0xFC));
        ports.write(0xCFC + (register & 3), size, value);
    }

    /** Offsets of the capabilities with this ID, in list order. */
    public List<Integer> capabilities(int id) {
        List<Integer> out = new ArrayList<>();
        int p = (int) config(PciRegs.CAPABILITIES_POINTER, 1) & 0xFC;
        for (int n = 0; p != 0 && n < 48; n++) {
            if (config(p, 1) == id) {
                out.add(p);
            }
            p = (int) config(p + 1, 1) & 0xFC;
        }
        return out;
    }

    /** Enables MSI-X with every table entry aimed at MSI_DATA_BASE + entry. */
    public void enableMsix(int vectors) {
        for (int v = 0; v < vectors; v++) {
            long e = BAR + VirtioPciTransport.MSIX_TABLE_OFFSET + 16L * v;
            mmio.write(e, 4, MSI_ADDRESS);
            mmio.write(e + 4, 4, 0);
            mmio.write(e + 8, 4, MSI_DATA_BASE + v);
            mmio.write(e + 12, 4, 0);
        }
        int cap = capabilities(PciRegs.CAP_ID_MSIX).get(0);
        config(cap + 2, 2, PciRegs.MSIX_CONTROL_ENABLE);
    }

    /** MSI-X messages seen so far for a table entry. */
    public long interrupts(int vector) {
        return msi.messages().stream().filter(m -> m.data() == MSI_DATA_BASE + vector).count();
    }

    // ---- common configuration ----

    public long common(int offset, int size) {
        return mmio.read(BAR + VirtioPciTransport.COMMON_OFFSET + offset, size);
    }

    public void common(int offset, int size, long value) {
        mmio.write(BAR + VirtioPciTransport.COMMON_OFFSET + offset, size, value);
    }

    public int status() {
        return (int) common(DEVICE_STATUS, 1);
    }

    public void status(int s) {
        common(DEVICE_STATUS, 1, s);
    }

    public long deviceFeatures() {
        common(DEVICE_FEATURE_SELECT, 4, 0);
        long lo = common(DEVICE_FEATURE, 4);
        common(DEVICE_FEATURE_SELECT, 4, 1);
        return lo | (common(DEVICE_FEATURE, 4) << 32);
    }

    /** §3.1.1 steps 1–6; true when the device kept FEATURES_OK. */
    public boolean negotiate(long features) {
        status(0);
        status(STATUS_ACKNOWLEDGE);
        status(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
        common(DRIVER_FEATURE_SELECT, 4, 0);
        common(DRIVER_FEATURE, 4, features & 0xFFFF_FFFFL);
        common(DRIVER_FEATURE_SELECT, 4, 1);
        common(DRIVER_FEATURE, 4, features >>> 32);
        status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
        return (status() & STATUS_FEATURES_OK) != 0;
    }

    public void driverOk() {
        status(status() | STATUS_DRIVER_OK);
    }

    public byte isr() {
        return (byte) mmio.read(BAR + VirtioPciTransport.ISR_OFFSET, 1);
    }

    public long deviceConfig(int offset, int size) {
        return mmio.read(BAR + VirtioPciTransport.DEVICE_OFFSET + offset, size);
    }

    public void notify(int queue) {
        mmio.write(BAR + VirtioPciTransport.NOTIFY_OFFSET + (long) VirtioPciTransport.NOTIFY_MULTIPLIER * queue, 2, queue);
    }

    public long alloc(long size, long align) {
        long a = (nextFree + align - 1) & -align;
        nextFree = a + size;
        return a;
    }

    /** Configures and enables a queue with rings from the allocator. */
    public Queue queue(int index, int size, int vector) {
        Queue q = new Queue(index, size, alloc(16L * size, 16), alloc(6 + 2L * size, 2), alloc(6 + 8L * size, 4));
        common(QUEUE_SELECT, 2, index);
        common(QUEUE_SIZE, 2, size);
        common(QUEUE_MSIX_VECTOR, 2, vector);
        common(QUEUE_DESC, 4, q.desc);
        common(QUEUE_DESC + 4, 4, q.desc >>> 32);
        common(QUEUE_DRIVER, 4, q.avail);
        common(QUEUE_DRIVER + 4, 4, q.avail >>> 32);
        common(QUEUE_DEVICE, 4, q.used);
        common(QUEUE_DEVICE + 4, 4, q.used >>> 32);
        common(QUEUE_ENABLE, 2, 1);
        return q;
    }

    /** A buffer of a chain: guest address, length, device-writable or not. */
    public record Buf(long addr, long len, boolean write) {}

    public record Used(int id, int len) {}

    /** The driver's view of one split queue. */
    public final class Queue {
        public final int index;
        public final int size;
        public final long desc;
        public final long avail;
        public final long used;
        private int nextDesc;
        private int availIdx;
        private int lastUsed;

        Queue(int index, int size, long desc, long avail, long used) {
            this.index = index;
            this.size = size;
            this.desc = desc;
            this.avail = avail;
            this.used = used;
        }

        public void writeDesc(int i, long addr, long len, int flags, int next) throws GuestMemoryException {
            long d = desc + 16L * i;
            mem.write64(d, addr);
            mem.write32(d + 8, (int) len);
            mem.write16(d + 12, (short) flags);
            mem.write16(d + 14, (short) next);
        }

        /** Writes a chain into the next free descriptors (wrapping); returns its head. */
        public int chain(Buf... bufs) throws GuestMemoryException {
            int head = nextDesc % size;
            for (int k = 0; k < bufs.length; k++) {
                int i = (nextDesc + k) % size;
                int flags = (bufs[k].write() ? DESC_F_WRITE : 0) | (k + 1 < bufs.length ? DESC_F_NEXT : 0);
                writeDesc(i, bufs[k].addr(), bufs[k].len(), flags, (i + 1) % size);
            }
            nextDesc += bufs.length;
            return head;
        }

        /** Writes an indirect table holding the chain and a descriptor pointing at it; returns its head. */
        public int indirect(Buf... bufs) throws GuestMemoryException {
            long table = alloc(16L * bufs.length, 16);
            for (int k = 0; k < bufs.length; k++) {
                long d = table + 16L * k;
                mem.write64(d, bufs[k].addr());
                mem.write32(d + 8, (int) bufs[k].len());
                mem.write16(d + 12, (short) ((bufs[k].write() ? DESC_F_WRITE : 0) | (k + 1 < bufs.length ? DESC_F_NEXT : 0)));
                mem.write16(d + 14, (short) (k + 1));
            }
            int head = nextDesc % size;
            writeDesc(head, table, 16L * bufs.length, DESC_F_INDIRECT, 0);
            nextDesc++;
            return head;
        }

        /** Makes {@code head} available (without notifying). */
        public void offer(int head) throws GuestMemoryException {
            mem.write16(avail + 4 + 2L * (availIdx % size), (short) head);
            availIdx = (availIdx + 1) & 0xFFFF;
            mem.write16(avail + 2, (short) availIdx);
        }

        public void availIdx(int idx) throws GuestMemoryException {
            availIdx = idx & 0xFFFF;
            mem.write16(avail + 2, (short) availIdx);
        }

        public void usedEvent(int idx) throws GuestMemoryException {
            mem.write16(avail + 4 + 2L * size, (short) idx);
        }

        public int availEvent() throws GuestMemoryException {
            return mem.read16(used + 4 + 8L * size) & 0xFFFF;
        }

        public int usedIdx() throws GuestMemoryException {
            return mem.read16(used + 2) & 0xFFFF;
        }

        /** Used elements the device added since the last call. */
        public List<Used> takeUsed() throws GuestMemoryException {
            List<Used> out = new ArrayList<>();
            int idx = usedIdx();
            while (lastUsed != idx) {
                long e = used + 4 + 8L * (lastUsed % size);
                out.add(new Used(mem.read32(e), mem.read32(e + 4)));
                lastUsed = (lastUsed + 1) & 0xFFFF;
            }
            return out;
        }
    }
}
