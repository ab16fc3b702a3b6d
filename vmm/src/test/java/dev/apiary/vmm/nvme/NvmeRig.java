package dev.apiary.vmm.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.apiary.vmm.block.FileBlockBackend;
import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import dev.apiary.vmm.pci.PciBus;
import dev.apiary.vmm.pci.PciInterruptRouting;
import dev.apiary.vmm.pci.PciRegs;
import dev.apiary.vmm.pci.RecordingInterruptLine;
import dev.apiary.vmm.pci.RecordingMsiSink;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A machine around one NVMe controller for tests, and a small NVMe driver that drives it the way Linux's
 * does: through PCI configuration (BARs, MSI-X), BAR0 registers and doorbells, queues in guest memory.
 */
final class NvmeRig implements AutoCloseable {
    static final int SLOT = 4;
    static final long RAM = 64L << 20;
    static final long BAR0 = 0xF000_0000L;
    static final long BAR4 = 0xF010_0000L;
    static final long ASQ = 0x10000;
    static final long ACQ = 0x20000;
    static final int ADMIN_ENTRIES = 32;
    static final long MSI_ADDRESS = 0xFEE0_0000L;
    static final long TIMEOUT_NANOS = 5_000_000_000L;

    final GuestMemory mem = GuestMemory.allocate(0, RAM);
    final Bus ports = new Bus("ports");
    final Bus mmio = new Bus("mmio");
    final Map<Integer, RecordingInterruptLine> gsis = new HashMap<>();
    final RecordingMsiSink msi = new RecordingMsiSink();
    final PciBus pci = new PciBus(ports, mmio, g -> gsis.computeIfAbsent(g, x -> new RecordingInterruptLine()), msi);
    final Path image;
    final NvmeController ctrl;
    private long nextFree = 0x100000;
    private final Map<Integer, Queue> queues = new HashMap<>();
    private int nextCid = 1;

    /** A queue pair as the driver sees it. */
    static final class Queue {
        final int id;
        final long sq;
        final long cq;
        final int entries;
        int sqTail;
        int cqHead;
        boolean phase = true;

        Queue(int id, long sq, long cq, int entries) {
            this.id = id;
            this.sq = sq;
            this.cq = cq;
            this.entries = entries;
        }
    }

    /** One completion queue entry. */
    record Cqe(int dw0, int sqHead, int sqId, int cid, int status, boolean phase) {
        int sc() {
            return status & 0xFF;
        }

        int sct() {
            return (status >>> 8) & 7;
        }

        /** Status without the DNR and More bits, comparable with {@link NvmeStatus} constants. */
        int code() {
            return status & 0x7FF;
        }

        boolean dnr() {
            return (status & NvmeStatus.DNR) != 0;
        }
    }

    NvmeRig(Path dir, NvmeConfig cfg, long imageSize, boolean readOnly, IoEventRegistrar events) throws IOException {
        this.image = dir.resolve("disk-" + System.nanoTime() + ".img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(imageSize);
        }
        this.ctrl = new NvmeController(cfg, mem, FileBlockBackend.open(image, readOnly), events);
        pci.mapConfigPorts();
        pci.attach(SLOT, 0, ctrl.pciFunction());
        ctrl.start();
        mapBars();
        queues.put(0, new Queue(0, ASQ, ACQ, ADMIN_ENTRIES));
    }

    NvmeRig(Path dir) throws IOException {
        this(dir, NvmeConfig.defaults("APIARY0001", 4), 16L << 20, false, IoEventRegistrar.NONE);
    }

    @Override
    public void close() {
        ctrl.stop();
    }

    // ---- PCI configuration ----

    long config(int register, int size) {
        ports.write(0xCF8, 4, 0x8000_0000L | (SLOT << 11) | (register & 0xFC));
        return ports.read(0xCFC + (register & 3), size);
    }

    void config(int register, int size, long value) {
        ports.write(0xCF8, 4, 0x8000_0000L | (SLOT << 11) | (register & 0xFC));
        ports.write(0xCFC + (register & 3), size, value);
    }

    void mapBars() {
        config(PciRegs.BAR0, 4, BAR0);
        config(PciRegs.BAR0 + 4, 4, 0);
        config(PciRegs.BAR0 + 16, 4, BAR4);
        config(PciRegs.BAR0 + 20, 4, 0);
        config(PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY_SPACE | PciRegs.COMMAND_BUS_MASTER);
    }

    /** Programs every MSI-X vector (data = 0x40 + vector), unmasks them and enables MSI-X. */
    void enableMsix() {
        for (int v = 0; v < ctrl.vectors(); v++) {
            long e = BAR4 + 16L * v;
            mmio.write(e, 4, MSI_ADDRESS);
            mmio.write(e + 4, 4, 0);
            mmio.write(e + 8, 4, 0x40 + v);
            mmio.write(e + 12, 4, 0);
        }
        int cap = ctrl.pciFunction().capabilityOffset(PciRegs.CAP_ID_MSIX);
        config(cap + PciRegs.MSIX_MESSAGE_CONTROL, 2, PciRegs.MSIX_CONTROL_ENABLE);
    }

    RecordingInterruptLine intx() {
        return gsis.computeIfAbsent(PciInterruptRouting.gsi(SLOT, 1), x -> new RecordingInterruptLine());
    }

    // ---- registers ----

    long reg(int offset, int size) {
        return mmio.read(BAR0 + offset, size);
    }

    int reg32(int offset) {
        return (int) reg(offset, 4);
    }

    void reg(int offset, int size, long value) {
        mmio.write(BAR0 + offset, size, value);
    }

    void sqDoorbell(int qid, int tail) {
        reg(NvmeRegs.DOORBELLS + 8 * qid, 4, tail);
    }

    void cqDoorbell(int qid, int head) {
        reg(NvmeRegs.DOORBELLS + 8 * qid + 4, 4, head);
    }

    static final int CC_NVM = (NvmeRegs.SQES << NvmeRegs.CC_IOSQES_SHIFT) | (NvmeRegs.CQES << NvmeRegs.CC_IOCQES_SHIFT);

    /** Sets up the admin queues and enables the controller, like nvme_pci_configure_admin_queue. */
    void enable() {
        // As Linux does on every (re)enable: a fresh admin CQ has no stale phase tags.
        write(ACQ, new byte[16 * ADMIN_ENTRIES]);
        reg(NvmeRegs.AQA, 4, ((ADMIN_ENTRIES - 1) << 16) | (ADMIN_ENTRIES - 1));
        reg(NvmeRegs.ASQ, 8, ASQ);
        reg(NvmeRegs.ACQ, 8, ACQ);
        reg(NvmeRegs.CC, 4, CC_NVM | NvmeRegs.CC_EN);
        waitFor(() -> (reg32(NvmeRegs.CSTS) & NvmeRegs.CSTS_RDY) != 0, "CSTS.RDY");
        Queue q = queues.get(0);
        q.sqTail = 0;
        q.cqHead = 0;
        q.phase = true;
    }

    void disable() {
        reg(NvmeRegs.CC, 4, CC_NVM);
        waitFor(() -> (reg32(NvmeRegs.CSTS) & NvmeRegs.CSTS_RDY) == 0, "CSTS.RDY = 0");
        queues.keySet().removeIf(id -> id != 0);
    }

    // ---- memory ----

    /** Page-aligned guest memory, zeroed. */
    long alloc(long bytes) {
        long at = nextFree;
        nextFree = (nextFree + bytes + 4095) & ~4095L;
        if (nextFree > RAM) {
            throw new IllegalStateException("test RAM exhausted");
        }
        try {
            mem.fill(at, bytes, (byte) 0);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        return at;
    }

    byte[] read(long gpa, int len) {
        byte[] b = new byte[len];
        try {
            mem.read(gpa, b, 0, len);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        return b;
    }

    void write(long gpa, byte[] data) {
        try {
            mem.write(gpa, data);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    int read32(long gpa) {
        try {
            return mem.read32(gpa);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    void write32(long gpa, int v) {
        try {
            mem.write32(gpa, v);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- commands ----

    /** A submission queue entry under construction. */
    static final class Sqe {
        final int[] dw = new int[16];

        Sqe(int opcode) {
            dw[0] = opcode;
        }

        Sqe nsid(int nsid) {
            dw[1] = nsid;
            return this;
        }

        Sqe prp1(long v) {
            dw[6] = (int) v;
            dw[7] = (int) (v >>> 32);
            return this;
        }

        Sqe prp2(long v) {
            dw[8] = (int) v;
            dw[9] = (int) (v >>> 32);
            return this;
        }

        Sqe cdw(int n, int v) {
            dw[n] = v;
            return this;
        }

        Sqe flags(int bits) {
            dw[0] |= bits;
            return this;
        }

        /** SLBA in CDW10/11, NLB (0's based) in CDW12. */
        Sqe lba(long slba, int blocks) {
            dw[10] = (int) slba;
            dw[11] = (int) (slba >>> 32);
            dw[12] = (dw[12] & ~0xFFFF) | ((blocks - 1) & 0xFFFF);
            return this;
        }
    }

    static Sqe command(int opcode) {
        return new Sqe(opcode);
    }

    /** Writes the entry at the queue's tail (without ringing); returns its CID. */
    int place(int qid, Sqe sqe) {
        Queue q = queues.get(qid);
        int cid = nextCid++ & 0xFFFF;
        sqe.dw[0] = (sqe.dw[0] & 0xFFFF) | (cid << 16);
        long at = q.sq + 64L * q.sqTail;
        for (int i = 0; i < 16; i++) {
            write32(at + 4L * i, sqe.dw[i]);
        }
        q.sqTail = (q.sqTail + 1) % q.entries;
        return cid;
    }

    /** Places and rings; returns the CID. */
    int submit(int qid, Sqe sqe) {
        int cid = place(qid, sqe);
        sqDoorbell(qid, queues.get(qid).sqTail);
        return cid;
    }

    /** The next completion on a queue, waiting for it; rings the CQ head doorbell after consuming it. */
    Cqe complete(int qid) {
        Cqe c = poll(qid, TIMEOUT_NANOS);
        if (c == null) {
            fail("no completion on queue " + qid + " (CSTS 0x" + Integer.toHexString(reg32(NvmeRegs.CSTS)) + ")");
        }
        return c;
    }

    /** The next completion within {@code nanos}, or null. */
    Cqe poll(int qid, long nanos) {
        Queue q = queues.get(qid);
        long at = q.cq + 16L * q.cqHead;
        long deadline = System.nanoTime() + nanos;
        while (((read32(at + 12) >>> 16) & 1) != (q.phase ? 1 : 0)) {
            if (System.nanoTime() > deadline) {
                return null;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000);
        }
        VarHandle.acquireFence();
        int dw2 = read32(at + 8);
        int dw3 = read32(at + 12);
        Cqe c = new Cqe(read32(at), dw2 & 0xFFFF, dw2 >>> 16, dw3 & 0xFFFF, dw3 >>> 17, ((dw3 >>> 16) & 1) != 0);
        q.cqHead++;
        if (q.cqHead == q.entries) {
            q.cqHead = 0;
            q.phase = !q.phase;
        }
        cqDoorbell(qid, q.cqHead);
        return c;
    }

    /** Submits and waits; checks the CID. */
    Cqe run(int qid, Sqe sqe) {
        int cid = submit(qid, sqe);
        Cqe c = complete(qid);
        assertEquals(cid, c.cid(), "CID");
        return c;
    }

    Cqe admin(Sqe sqe) {
        return run(0, sqe);
    }

    Cqe adminOk(Sqe sqe) {
        Cqe c = admin(sqe);
        assertEquals(0, c.status(), "admin opcode 0x" + Integer.toHexString(sqe.dw[0] & 0xFF) + " status");
        return c;
    }

    /** Identify into a fresh page; returns the 4 KiB. */
    byte[] identify(int cns, int nsid) {
        long buf = alloc(4096);
        adminOk(command(Opcodes.IDENTIFY).nsid(nsid).prp1(buf).cdw(10, cns));
        return read(buf, 4096);
    }

    Cqe createCq(int qid, long base, int entries, int vector, boolean ien) {
        return admin(command(Opcodes.CREATE_IO_CQ).prp1(base).cdw(10, ((entries - 1) << 16) | qid)
                .cdw(11, (vector << 16) | (ien ? 2 : 0) | 1));
    }

    Cqe createSq(int qid, long base, int entries, int cqid) {
        return admin(command(Opcodes.CREATE_IO_SQ).prp1(base).cdw(10, ((entries - 1) << 16) | qid)
                .cdw(11, (cqid << 16) | 1));
    }

    /** Creates I/O queue pair {@code qid} with its own CQ on vector {@code qid}. */
    Queue createQueuePair(int qid, int entries) {
        long cq = alloc(16L * entries);
        long sq = alloc(64L * entries);
        int vector = ctrl.pciFunction().msix().enabled() ? qid : 0; // pin-based: vector 0 only
        assertEquals(0, createCq(qid, cq, entries, vector, true).status(), "create CQ");
        assertEquals(0, createSq(qid, sq, entries, qid).status(), "create SQ");
        Queue q = new Queue(qid, sq, cq, entries);
        queues.put(qid, q);
        return q;
    }

    Queue queue(int qid) {
        return queues.get(qid);
    }

    void waitFor(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000);
        }
        assertTrue(condition.getAsBoolean());
    }
}
