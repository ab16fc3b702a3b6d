package dev.apiary.vmm.nvme;

import static dev.apiary.vmm.nvme.NvmeRegs.*;

import dev.apiary.vmm.block.BlockBackend;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import dev.apiary.vmm.pci.Msix;
import dev.apiary.vmm.pci.PciAddress;
import dev.apiary.vmm.pci.PciFunction;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * An NVMe controller (NVM Express Base Specification 1.4) on PCI with one namespace backed by a
 * {@link BlockBackend}: class 01:08:02, registers and doorbells in a 64-bit BAR0 of at least 16 KiB, MSI-X
 * table and PBA in a 64-bit BAR4 of their own, INTx pin A for drivers that do not enable MSI-X.
 *
 * <p>Threads. Register accesses arrive on vCPU threads through {@link #pciFunction()}'s BAR0 handler. A
 * doorbell write only records the new tail or head and wakes the queue's worker ({@link QueueWorker}, one
 * thread per submission queue ID); fetching, executing (file I/O included) and posting completions happen on
 * that worker, never on the vCPU. Completion queues are shared by workers under their own lock; interrupts
 * go out through MSI-X ({@link Msix#notify}, which the machine delivers with KVM_SIGNAL_MSI) or, while
 * MSI-X is disabled, as a level on INTx that stays high while any interrupt-enabled completion queue has
 * entries the host has not consumed (§7.5.1).
 *
 * <p>Doorbells and ioeventfd. With Doorbell Buffer Config (OACS bit 8, §5.7) the guest keeps each I/O
 * queue's tail/head in a shadow buffer in its memory and only writes the real doorbell when the EventIdx we
 * publish says so. Those writes carry a value we do not need, so for every I/O queue with a shadow doorbell
 * the controller asks the machine ({@link IoEventRegistrar}) to route writes of that doorbell to a callback
 * that wakes the worker, which then reads the shadow. Without shadow doorbells every doorbell is an ordinary
 * MMIO write whose value is used directly. The admin queue never uses the shadow (Linux does not update it).
 *
 * <p>Locks, in order: {@code ccLock} (register writes, enable/disable, reset, pause; never taken by workers)
 * → {@code this} (the queue tables; held briefly by the admin worker too) → {@code ioEventLock} (ioeventfd
 * registrations); {@code intxLock} → the {@link PciFunction}. Nothing waits for a worker while holding
 * {@code this}.
 */
public final class NvmeController implements Device {
    private static final System.Logger LOG = System.getLogger(NvmeController.class.getName());

    /** NVMe reserves MLBAR bits 13:4; Windows' stornvme masks them off, so BAR0 must be at least 16 KiB. */
    public static final int BAR0_MIN_SIZE = 16 * 1024;
    public static final int REGISTERS_BAR = 0;
    public static final int MSIX_BAR = 4;
    static final int PBA_OFFSET_ALIGN = 4096;
    private static final int MPS_MAX = 4; // 64 KiB pages
    private static final int CAP_TIMEOUT = 15; // 7.5 s, in 500 ms units
    private static final long QUIESCE_TIMEOUT_MS = 10_000;
    /** Completions posted before an interrupt is sent while more commands are waiting. */
    private static final int INTERRUPT_BATCH = 8;

    private final NvmeConfig config;
    private final GuestMemory mem;
    private final Namespace namespace;
    private final IoEventRegistrar ioEvents;
    private final PciFunction pci;
    private final long cap;
    private final int vectors;
    private final int bar0Size;
    private final Features features;
    private final HealthLog health = new HealthLog();
    private final AsyncEvents asyncEvents = new AsyncEvents(Identify.AER_LIMIT + 1);
    private final AdminCommands admin = new AdminCommands(this);
    private final IoCommands io;
    private final byte[] identifyController;

    private final Object ccLock = new Object();
    private volatile int cc;
    private volatile int csts;
    private volatile int aqa;
    private volatile long asq;
    private volatile long acq;
    private volatile int intms;
    private volatile int pageSize = 4096;
    private volatile boolean ready;
    private volatile boolean paused;
    private volatile boolean stopped;

    private final AtomicReferenceArray<SubmissionQueue> sqs;
    private final AtomicReferenceArray<CompletionQueue> cqs;
    private final QueueWorker[] workers; // guarded by this
    private volatile long shadowBase = -1;
    private volatile long eventIdxBase = -1;

    private final Object ioEventLock = new Object();
    private long barBase = -1; // guarded by ioEventLock
    private final IoEventRegistrar.Registration[] registrations; // by doorbell index, guarded by ioEventLock

    private final Object intxLock = new Object();

    /**
     * @param config   identity and limits
     * @param memory   guest RAM: every DMA goes through it, checked
     * @param disk     the namespace's image; the controller owns it from now on and closes it in {@link #stop()}
     * @param ioEvents where to route shadowed doorbell writes ({@link IoEventRegistrar#NONE} for none)
     */
    public NvmeController(NvmeConfig config, GuestMemory memory, BlockBackend disk, IoEventRegistrar ioEvents) {
        this.config = config;
        this.mem = memory;
        this.namespace = new Namespace(disk, config.serial(), config.lbaShift());
        this.ioEvents = ioEvents == null ? IoEventRegistrar.NONE : ioEvents;
        int queues = config.maxIoQueues() + 1;
        this.vectors = queues;
        this.features = new Features(config.maxIoQueues(), vectors);
        this.sqs = new AtomicReferenceArray<>(queues);
        this.cqs = new AtomicReferenceArray<>(queues);
        this.workers = new QueueWorker[queues];
        this.registrations = new IoEventRegistrar.Registration[2 * queues];
        this.bar0Size = Math.max(BAR0_MIN_SIZE, Integer.highestOneBit(DOORBELLS + 8 * queues - 1) << 1);
        this.cap = ((long) (config.queueEntries() - 1) << CAP_MQES_SHIFT)
                | CAP_CQR
                | ((long) CAP_TIMEOUT << CAP_TO_SHIFT)
                | CAP_CSS_NVM
                | ((long) MPS_MAX << CAP_MPSMAX_SHIFT);
        this.identifyController = Identify.controller(config, config.mdts());
        this.io = new IoCommands(new IoCommands.Context() {
            @Override
            public GuestMemory memory() {
                return mem;
            }

            @Override
            public int pageSize() {
                return pageSize;
            }

            @Override
            public long maxTransferBytes() {
                return NvmeController.this.maxTransferBytes();
            }

            @Override
            public boolean writeCacheEnabled() {
                return features.writeCacheEnabled();
            }

            @Override
            public HealthLog health() {
                return health;
            }

            @Override
            public Namespace namespace() {
                return namespace;
            }
        });

        long tableBytes = (long) vectors * 16;
        long pbaOffset = (tableBytes + PBA_OFFSET_ALIGN - 1) / PBA_OFFSET_ALIGN * PBA_OFFSET_ALIGN;
        long msixBarSize = Math.max(BAR0_MIN_SIZE, Long.highestOneBit(pbaOffset + PBA_OFFSET_ALIGN - 1) << 1);
        this.pci = PciFunction.builder(config.vendorId(), config.deviceId())
                .classCode(0x01, 0x08, 0x02) // mass storage, NVM, NVM Express
                .subsystem(config.vendorId(), config.deviceId())
                .interruptPin(1)
                .memoryBar64(REGISTERS_BAR, bar0Size, false, new Registers())
                .memoryBar64(MSIX_BAR, msixBarSize, false, null)
                .msix(vectors, MSIX_BAR, 0, MSIX_BAR, pbaOffset)
                .onConfigWrite((offset, size, value) -> barMaybeMoved())
                .build();
    }

    /** The PCI function to attach to the bus ({@code PciBus.attach(slot, 0, pciFunction())}). */
    public PciFunction pciFunction() {
        return pci;
    }

    @Override
    public String name() {
        PciAddress a = pci.address();
        return a == null ? "pci-nvme" : a.inventoryName("nvme");
    }

    // ---- lifecycle ----

    @Override
    public void start() {
        // Workers start with the queues they serve (admin queue: on CC.EN).
    }

    @Override
    public void pause() {
        synchronized (ccLock) {
            paused = true;
            for (QueueWorker w : workerSnapshot()) {
                w.hold(true);
            }
            for (QueueWorker w : workerSnapshot()) {
                if (!w.awaitIdle(QUIESCE_TIMEOUT_MS)) {
                    LOG.log(Level.WARNING, () -> name() + ": a queue worker is still busy after pause");
                }
            }
        }
    }

    @Override
    public void resume() {
        synchronized (ccLock) {
            paused = false;
            for (QueueWorker w : workerSnapshot()) {
                w.hold(false);
            }
        }
    }

    /** Power-on state: controller reset, registers and features to defaults (the image keeps its data). */
    @Override
    public void reset() {
        synchronized (ccLock) {
            disable();
            cc = 0;
            csts = 0;
            aqa = 0;
            asq = 0;
            acq = 0;
            intms = 0;
            health.powerCycle();
        }
        barMaybeMoved();
        updateIntx();
    }

    @Override
    public void stop() {
        synchronized (ccLock) {
            if (stopped) {
                return;
            }
            disable();
            stopped = true;
        }
        for (QueueWorker w : workerSnapshot()) {
            w.stop();
        }
        try {
            namespace.disk.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, () -> name() + ": closing " + namespace.disk.describe() + ": " + e.getMessage());
        }
    }

    private synchronized QueueWorker[] workerSnapshot() {
        return java.util.Arrays.stream(workers).filter(java.util.Objects::nonNull).toArray(QueueWorker[]::new);
    }

    // ---- registers (vCPU threads) ----

    private final class Registers implements IoHandler {
        @Override
        public long read(long offset, int size) {
            if (offset < 0 || offset + size > bar0Size) {
                return ones(size);
            }
            if (offset >= DOORBELLS) {
                return 0; // doorbells are write-only
            }
            int off = (int) offset;
            if (size == 8 && (off & 7) == 0) {
                return (read32(off) & 0xFFFF_FFFFL) | ((long) read32(off + 4) << 32);
            }
            if (size == 4 && (off & 3) == 0) {
                return read32(off) & 0xFFFF_FFFFL;
            }
            if ((size == 1 || size == 2) && (off & ~3) == ((off + size - 1) & ~3)) {
                return (read32(off & ~3) >>> (8 * (off & 3))) & ((1L << (8 * size)) - 1);
            }
            return ones(size);
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset < 0 || offset + size > bar0Size) {
                return;
            }
            int off = (int) offset;
            if (off >= DOORBELLS) {
                if (size == 4 && (off & 3) == 0) {
                    doorbell((off - DOORBELLS) >>> 2, (int) value);
                }
                return;
            }
            if (size == 8 && (off & 7) == 0) {
                write32(off, (int) value);
                write32(off + 4, (int) (value >>> 32));
            } else if (size == 4 && (off & 3) == 0) {
                write32(off, (int) value);
            }
            // Other widths are not defined for controller registers (§3.1); ignored.
        }
    }

    private static long ones(int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    private int read32(int off) {
        return switch (off) {
            case CAP -> (int) cap;
            case CAP + 4 -> (int) (cap >>> 32);
            case VS -> VERSION_1_4;
            case INTMS, INTMC -> intms;
            case CC -> cc;
            case CSTS -> csts;
            case AQA -> aqa;
            case ASQ -> (int) asq;
            case ASQ + 4 -> (int) (asq >>> 32);
            case ACQ -> (int) acq;
            case ACQ + 4 -> (int) (acq >>> 32);
            default -> 0; // NSSR, CMBLOC, CMBSZ, BPINFO … : not supported, read 0
        };
    }

    private void write32(int off, int value) {
        switch (off) {
            case INTMS, INTMC -> {
                // §3.1.3/§3.1.4: only for pin-based and single MSI interrupts; with MSI-X the host must not use them.
                synchronized (ccLock) {
                    intms = off == INTMS ? intms | value : intms & ~value;
                }
                updateIntx();
            }
            case CC -> writeCc(value);
            case AQA, ASQ, ASQ + 4, ACQ, ACQ + 4 -> writeAdminQueueRegister(off, value);
            default -> {
                // CAP, VS, CSTS are read-only; NSSR is unsupported (CAP.NSSRS = 0).
            }
        }
    }

    private void writeAdminQueueRegister(int off, int value) {
        synchronized (ccLock) {
            if ((cc & CC_EN) != 0) {
                return; // §3.1.8–3.1.10: changes while enabled are not honoured
            }
            long v = value & 0xFFFF_FFFFL;
            switch (off) {
                case AQA -> aqa = value & AQA_WRITABLE;
                case ASQ -> asq = ((asq & ~0xFFFF_FFFFL) | v) & ADMIN_QUEUE_BASE_MASK;
                case ASQ + 4 -> asq = (asq & 0xFFFF_FFFFL) | (v << 32);
                case ACQ -> acq = ((acq & ~0xFFFF_FFFFL) | v) & ADMIN_QUEUE_BASE_MASK;
                case ACQ + 4 -> acq = (acq & 0xFFFF_FFFFL) | (v << 32);
                default -> {}
            }
        }
    }

    private void writeCc(int value) {
        synchronized (ccLock) {
            int old = cc;
            int next = value & CC_WRITABLE;
            boolean wasEnabled = (old & CC_EN) != 0;
            boolean enable = (next & CC_EN) != 0;
            if (wasEnabled && !enable) {
                cc = next;
                disable(); // §7.3.2: CC.EN 1 → 0 is a controller reset
                csts = 0;
                return;
            }
            if (wasEnabled) {
                // While enabled only SHN and the I/O queue entry sizes may change.
                int keep = (CC_CSS_MASK << CC_CSS_SHIFT) | (CC_MPS_MASK << CC_MPS_SHIFT) | (CC_AMS_MASK << CC_AMS_SHIFT);
                next = (old & keep) | (next & ~keep);
            }
            cc = next;
            if (!wasEnabled && enable) {
                enable();
            }
            shutdownNotification(old, next);
        }
    }

    /** CC.SHN (§7.6.2): on a new notification, put the image on stable storage and report complete. */
    private void shutdownNotification(int old, int next) {
        int oldShn = (old >>> CC_SHN_SHIFT) & CC_SHN_MASK;
        int shn = (next >>> CC_SHN_SHIFT) & CC_SHN_MASK;
        if (shn == 0) {
            csts &= ~(0x3 << CSTS_SHST_SHIFT);
            return;
        }
        if (oldShn != 0) {
            return;
        }
        csts = (csts & ~(0x3 << CSTS_SHST_SHIFT)) | (SHST_OCCURRING << CSTS_SHST_SHIFT);
        try {
            namespace.disk.flush();
        } catch (IOException e) {
            LOG.log(Level.WARNING, () -> name() + ": flush on shutdown failed: " + e.getMessage());
        }
        csts = (csts & ~(0x3 << CSTS_SHST_SHIFT)) | (SHST_COMPLETE << CSTS_SHST_SHIFT);
    }

    /**
     * CC.EN 0 → 1: check what the host set up and create the admin queues. A configuration the controller
     * cannot use (unsupported command set, page size or arbitration, admin queues of one entry or outside
     * guest RAM) sets CSTS.CFS instead of RDY: the host learns at once instead of timing out on RDY.
     */
    private void enable() {
        int css = (cc >>> CC_CSS_SHIFT) & CC_CSS_MASK;
        int mps = (cc >>> CC_MPS_SHIFT) & CC_MPS_MASK;
        int ams = (cc >>> CC_AMS_SHIFT) & CC_AMS_MASK;
        int sqEntries = (aqa & AQA_ASQS_MASK) + 1;
        int cqEntries = ((aqa >>> AQA_ACQS_SHIFT) & AQA_ASQS_MASK) + 1;
        String problem = null;
        if (css != 0) {
            problem = "CC.CSS " + css + " is not the NVM command set";
        } else if (mps > MPS_MAX) {
            problem = "CC.MPS " + mps + " above CAP.MPSMAX";
        } else if (ams != 0) {
            problem = "CC.AMS " + ams + " not supported";
        } else if (sqEntries < 2 || cqEntries < 2) {
            problem = "admin queues must have at least 2 entries";
        } else if (!mem.isValid(asq, (long) sqEntries * SQ_ENTRY_SIZE) || !mem.isValid(acq, (long) cqEntries * CQ_ENTRY_SIZE)) {
            problem = "admin queues outside guest RAM";
        }
        if (problem != null) {
            String why = problem;
            LOG.log(Level.WARNING, () -> name() + ": cannot enable: " + why);
            csts |= CSTS_CFS;
            return;
        }
        pageSize = 4096 << mps;
        synchronized (this) {
            CompletionQueue acqQueue = new CompletionQueue(0, acq, cqEntries, 0, true);
            SubmissionQueue asqQueue = new SubmissionQueue(0, asq, sqEntries, acqQueue);
            acqQueue.submissionQueues.add(asqQueue);
            cqs.set(0, acqQueue);
            sqs.set(0, asqQueue);
            ensureWorker(0);
            ready = true;
        }
        csts = (csts & ~CSTS_CFS) | CSTS_RDY;
    }

    /**
     * Controller reset (§7.3.1, CC.EN 1 → 0 or a machine reset): every queue is dropped, outstanding
     * Asynchronous Event Requests are forgotten, features return to defaults, shadow doorbells and their
     * ioeventfds go away. Waits (without holding the queue lock) until no worker is inside a command, so no
     * completion of the old queues can land in guest memory afterwards. Called with {@code ccLock} held.
     */
    private void disable() {
        synchronized (this) {
            ready = false;
            for (int i = 0; i < sqs.length(); i++) {
                SubmissionQueue sq = sqs.getAndSet(i, null);
                if (sq != null) {
                    sq.alive = false;
                }
                CompletionQueue cq = cqs.getAndSet(i, null);
                if (cq != null) {
                    cq.alive = false;
                }
            }
            shadowBase = -1;
            eventIdxBase = -1;
        }
        cancelAllRegistrations();
        for (QueueWorker w : workerSnapshot()) {
            if (!w.awaitIdle(QUIESCE_TIMEOUT_MS)) {
                LOG.log(Level.WARNING, () -> name() + ": a queue worker is still busy after reset");
            }
        }
        asyncEvents.reset();
        features.reset();
        updateIntx();
    }

    private synchronized void ensureWorker(int qid) {
        if (workers[qid] == null && !stopped) {
            QueueWorker w = new QueueWorker(name() + "-sq" + qid, qid, this::service);
            workers[qid] = w;
            if (paused) {
                w.hold(true);
            }
            w.start();
        }
    }

    private QueueWorker worker(int qid) {
        synchronized (this) {
            return workers[qid];
        }
    }

    private void ring(int qid) {
        QueueWorker w = worker(qid);
        if (w != null) {
            w.ring();
        }
    }

    // ---- doorbells ----

    /** A doorbell write with its value (an MMIO exit). {@code index} = 2·qid for SQ tails, 2·qid+1 for CQ heads. */
    private void doorbell(int index, int value) {
        if (!ready) {
            return; // §7.3.1: doorbells of a disabled controller are ignored
        }
        int qid = index >>> 1;
        if ((index & 1) == 0) {
            SubmissionQueue sq = qid < sqs.length() ? sqs.get(qid) : null;
            if (sq == null) {
                doorbellError(qid, Opcodes.AE_INFO_INVALID_DOORBELL_REGISTER);
            } else if (value < 0 || value >= sq.size) {
                doorbellError(qid, Opcodes.AE_INFO_INVALID_DOORBELL_VALUE);
            } else {
                sq.tail = value;
                ring(qid);
            }
        } else {
            CompletionQueue cq = qid < cqs.length() ? cqs.get(qid) : null;
            if (cq == null) {
                doorbellError(qid, Opcodes.AE_INFO_INVALID_DOORBELL_REGISTER);
            } else if (!cq.setHead(value)) {
                doorbellError(qid, Opcodes.AE_INFO_INVALID_DOORBELL_VALUE);
            } else {
                completionQueueConsumed(cq);
            }
        }
    }

    /** The guest moved a CQ head: workers waiting for room may go on, and INTx may drop. */
    private void completionQueueConsumed(CompletionQueue cq) {
        for (SubmissionQueue sq : cq.submissionQueues) {
            ring(sq.id);
        }
        if (!cq.interruptsEnabled) {
            return;
        }
        Msix msix = pci.msix();
        if (msix == null || !msix.enabled()) {
            updateIntx();
        }
    }

    /**
     * An invalid doorbell write (§4.1 and §5.2.1, figure 146): ignored, reported as an asynchronous event of
     * type Error with the Error Information log page, and recorded there.
     */
    private void doorbellError(int qid, int info) {
        LOG.log(Level.DEBUG, () -> name() + ": invalid doorbell write for queue " + qid + " (" + info + ")");
        health.recordError(qid & 0xFFFF, 0xFFFF, 0, 0, 0);
        asyncEvents.raise(new AsyncEvents.Event(Opcodes.AE_TYPE_ERROR, info, Opcodes.LOG_ERROR_INFORMATION));
        ring(0);
    }

    /** A doorbell rang without a value (ioeventfd): the shadow doorbell holds it. */
    private void shadowRang(int index) {
        int qid = index >>> 1;
        if ((index & 1) == 0) {
            ring(qid);
        } else {
            CompletionQueue cq = cqs.get(qid);
            if (cq != null && refreshHeadFromShadow(cq)) {
                completionQueueConsumed(cq);
            }
        }
    }

    // ---- queue processing (worker threads) ----

    private void service(int qid) {
        SubmissionQueue sq = sqs.get(qid);
        if (sq == null) {
            return;
        }
        CompletionQueue cq = sq.cq;
        if (qid == 0) {
            deliverAsyncEvents(sq);
        }
        int unsignalled = 0;
        while (!paused && sq.alive && ready && (csts & CSTS_CFS) == 0) {
            int tail = currentTail(sq);
            if (tail < 0 || sq.head == tail) {
                break;
            }
            if (!cq.reserve() && !(refreshHeadFromShadow(cq) && cq.reserve())) {
                break; // full: the CQ head doorbell rings us again
            }
            Command cmd;
            try {
                cmd = Command.read(mem, sq.entryAddress(sq.head));
            } catch (GuestMemoryException e) {
                cq.release();
                fatal("submission queue " + qid + " entry outside guest RAM");
                return;
            }
            sq.head = sq.head + 1 == sq.size ? 0 : sq.head + 1;
            Completion c = execute(sq, cmd);
            if (c == Completion.HELD) {
                cq.release();
            } else {
                if (!post(cq, c.result(), qid, sq.head, cmd.cid(), c.status())) {
                    return;
                }
                unsignalled++;
                if (unsignalled >= INTERRUPT_BATCH || sq.head == currentTail(sq)) {
                    interrupt(cq);
                    unsignalled = 0;
                }
            }
            if (qid == 0) {
                deliverAsyncEvents(sq);
            }
        }
        if (unsignalled > 0) {
            interrupt(cq);
        }
    }

    private Completion execute(SubmissionQueue sq, Command cmd) {
        try {
            return sq.id == 0 ? admin.execute(cmd) : io.execute(cmd);
        } catch (CommandException e) {
            health.recordError(sq.id, cmd.cid(), e.status(), 0, cmd.nsid());
            LOG.log(Level.DEBUG, () -> String.format("%s: SQ %d CID %d opcode 0x%x: status 0x%x (%s)",
                    name(), sq.id, cmd.cid(), cmd.opcode(), e.status(), e.getMessage()));
            return Completion.error(e.status());
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, name() + ": SQ " + sq.id + " opcode 0x" + Integer.toHexString(cmd.opcode()), e);
            health.recordError(sq.id, cmd.cid(), NvmeStatus.INTERNAL_ERROR, 0, cmd.nsid());
            return Completion.error(NvmeStatus.INTERNAL_ERROR);
        }
    }

    private boolean post(CompletionQueue cq, int result, int sqId, int sqHead, int cid, int status) {
        try {
            cq.post(mem, result, sqId, sqHead, cid, status);
            return true;
        } catch (GuestMemoryException e) {
            fatal("completion queue " + cq.id + " outside guest RAM");
            return false;
        }
    }

    /**
     * The tail to fetch up to: the shadow doorbell when the queue has one (after publishing EventIdx = our head
     * and checking again, so a tail written meanwhile is not missed), else the last MMIO value. -1 when the
     * shadow holds a value beyond the queue (reported like an invalid doorbell write).
     */
    private int currentTail(SubmissionQueue sq) {
        long shadow = sq.shadowDoorbell;
        if (shadow < 0) {
            return sq.tail;
        }
        try {
            int t = mem.read32(shadow);
            if (t == sq.head) {
                mem.write32(sq.eventIdx, sq.head);
                VarHandle.fullFence();
                t = mem.read32(shadow);
            }
            if (t < 0 || t >= sq.size) {
                doorbellError(sq.id, Opcodes.AE_INFO_INVALID_DOORBELL_VALUE);
                return -1;
            }
            return t;
        } catch (GuestMemoryException e) {
            return sq.tail; // cannot happen: the buffer was checked at Doorbell Buffer Config
        }
    }

    /**
     * Takes a CQ's head from its shadow doorbell and publishes EventIdx = that head, so the guest rings when
     * it next consumes entries. False when the queue has no shadow or the value is invalid.
     */
    private boolean refreshHeadFromShadow(CompletionQueue cq) {
        long shadow = cq.shadowDoorbell;
        if (shadow < 0) {
            return false;
        }
        try {
            int h = mem.read32(shadow);
            if (!cq.setHead(h)) {
                doorbellError(cq.id, Opcodes.AE_INFO_INVALID_DOORBELL_VALUE);
                return false;
            }
            mem.write32(cq.eventIdx, h);
            VarHandle.fullFence();
            int again = mem.read32(shadow);
            if (again != h && !cq.setHead(again)) {
                doorbellError(cq.id, Opcodes.AE_INFO_INVALID_DOORBELL_VALUE);
            }
            return true;
        } catch (GuestMemoryException e) {
            return false;
        }
    }

    private void deliverAsyncEvents(SubmissionQueue adminSq) {
        CompletionQueue cq = adminSq.cq;
        while (asyncEvents.deliverable() && cq.reserve()) {
            int[] event = asyncEvents.take();
            if (event == null) {
                cq.release();
                return;
            }
            if (!post(cq, event[1], 0, adminSq.head, event[0], NvmeStatus.SUCCESS)) {
                return;
            }
            interrupt(cq);
        }
    }

    private void interrupt(CompletionQueue cq) {
        if (cq.shadowDoorbell >= 0) {
            refreshHeadFromShadow(cq);
        }
        if (!cq.interruptsEnabled) {
            return;
        }
        if (!pci.notifyMsix(cq.vector)) {
            updateIntx();
        }
    }

    /** INTx follows §7.5.1: asserted while an unmasked, interrupt-enabled CQ has unconsumed entries. */
    private void updateIntx() {
        synchronized (intxLock) {
            boolean level = false;
            Msix msix = pci.msix();
            if ((msix == null || !msix.enabled()) && (intms & 1) == 0) {
                for (int i = 0; i < cqs.length() && !level; i++) {
                    CompletionQueue cq = cqs.get(i);
                    level = cq != null && cq.interruptsEnabled && cq.hasPending();
                }
            }
            pci.setIntx(level);
        }
    }

    private void fatal(String why) {
        LOG.log(Level.ERROR, () -> name() + ": controller fatal status: " + why);
        csts |= CSTS_CFS;
    }

    // ---- admin operations (admin worker thread) ----

    NvmeConfig config() {
        return config;
    }

    Namespace namespace() {
        return namespace;
    }

    Features features() {
        return features;
    }

    HealthLog health() {
        return health;
    }

    AsyncEvents asyncEvents() {
        return asyncEvents;
    }

    byte[] identifyController() {
        return identifyController;
    }

    long maxTransferBytes() {
        return (1L << config.mdts()) * 4096;
    }

    PrpList dataPointer(Command cmd, long length) throws CommandException {
        return PrpList.resolve(mem, cmd.prp1(), cmd.prp2(), length, pageSize);
    }

    boolean ioQueuesExist() {
        for (int i = 1; i < sqs.length(); i++) {
            if (sqs.get(i) != null || cqs.get(i) != null) {
                return true;
            }
        }
        return false;
    }

    private int checkQueueBase(long base, int entries, int entrySize) throws CommandException {
        if ((base & (pageSize - 1)) != 0) {
            throw new CommandException(NvmeStatus.INVALID_PRP_OFFSET | NvmeStatus.DNR, "queue base not page aligned");
        }
        if (!mem.isValid(base, (long) entries * entrySize)) {
            throw CommandException.invalidField("queue outside guest RAM");
        }
        return entries;
    }

    private int queueSize(Command cmd) throws CommandException {
        int entries = (cmd.cdw10() >>> 16) + 1;
        if (entries < 2 || entries > config.queueEntries()) {
            throw new CommandException(NvmeStatus.INVALID_QUEUE_SIZE | NvmeStatus.DNR, "bad queue size " + entries);
        }
        return entries;
    }

    /** Create I/O Completion Queue (§5.3). */
    Completion createCompletionQueue(Command cmd) throws CommandException {
        int qid = cmd.cdw10() & 0xFFFF;
        boolean contiguous = (cmd.cdw11() & 1) != 0;
        boolean ien = (cmd.cdw11() & 2) != 0;
        int vector = cmd.cdw11() >>> 16;
        if (qid == 0 || qid > features.grantedCompletionQueues() || cqs.get(qid) != null) {
            throw new CommandException(NvmeStatus.INVALID_QUEUE_IDENTIFIER | NvmeStatus.DNR, "bad CQ ID " + qid);
        }
        int entries = queueSize(cmd);
        if (!contiguous) {
            throw CommandException.invalidField("CAP.CQR: queues must be physically contiguous");
        }
        Msix msix = pci.msix();
        if (ien && (vector >= vectors || (vector != 0 && (msix == null || !msix.enabled())))) {
            throw new CommandException(NvmeStatus.INVALID_INTERRUPT_VECTOR | NvmeStatus.DNR, "bad vector " + vector);
        }
        if (((cc >>> CC_IOCQES_SHIFT) & CC_ES_MASK) != CQES) {
            throw CommandException.invalidField("CC.IOCQES is not 16 bytes");
        }
        checkQueueBase(cmd.prp1(), entries, CQ_ENTRY_SIZE);
        CompletionQueue cq = new CompletionQueue(qid, cmd.prp1(), entries, vector, ien);
        synchronized (this) {
            if (!ready) {
                throw new CommandException(NvmeStatus.COMMAND_SEQUENCE_ERROR, "controller is resetting");
            }
            cqs.set(qid, cq);
            attachShadow(null, cq);
        }
        return Completion.SUCCESS;
    }

    /** Create I/O Submission Queue (§5.4). */
    Completion createSubmissionQueue(Command cmd) throws CommandException {
        int qid = cmd.cdw10() & 0xFFFF;
        boolean contiguous = (cmd.cdw11() & 1) != 0;
        int cqid = cmd.cdw11() >>> 16;
        if (qid == 0 || qid > features.grantedSubmissionQueues() || sqs.get(qid) != null) {
            throw new CommandException(NvmeStatus.INVALID_QUEUE_IDENTIFIER | NvmeStatus.DNR, "bad SQ ID " + qid);
        }
        int entries = queueSize(cmd);
        if (!contiguous) {
            throw CommandException.invalidField("CAP.CQR: queues must be physically contiguous");
        }
        CompletionQueue cq = cqid == 0 || cqid >= cqs.length() ? null : cqs.get(cqid);
        if (cq == null) {
            throw new CommandException(NvmeStatus.COMPLETION_QUEUE_INVALID | NvmeStatus.DNR, "no CQ " + cqid);
        }
        if (((cc >>> CC_IOSQES_SHIFT) & CC_ES_MASK) != SQES) {
            throw CommandException.invalidField("CC.IOSQES is not 64 bytes");
        }
        checkQueueBase(cmd.prp1(), entries, SQ_ENTRY_SIZE);
        SubmissionQueue sq = new SubmissionQueue(qid, cmd.prp1(), entries, cq);
        synchronized (this) {
            if (!ready || !cq.alive) {
                throw new CommandException(NvmeStatus.COMMAND_SEQUENCE_ERROR, "controller is resetting");
            }
            cq.submissionQueues.add(sq);
            sqs.set(qid, sq);
            attachShadow(sq, null);
            ensureWorker(qid);
        }
        return Completion.SUCCESS;
    }

    /**
     * Delete I/O Submission Queue (§5.7): the queue's worker finishes the command it is running, and the
     * commands the guest submitted but we had not fetched complete with Command Aborted due to SQ Deletion.
     */
    Completion deleteSubmissionQueue(int qid) throws CommandException {
        SubmissionQueue sq;
        synchronized (this) {
            sq = qid == 0 || qid >= sqs.length() ? null : sqs.get(qid);
            if (sq == null) {
                throw new CommandException(NvmeStatus.INVALID_QUEUE_IDENTIFIER | NvmeStatus.DNR, "no SQ " + qid);
            }
            sq.alive = false;
            sqs.set(qid, null);
        }
        cancelRegistration(2 * qid);
        QueueWorker w = worker(qid);
        if (w != null && !w.awaitIdle(QUIESCE_TIMEOUT_MS)) {
            LOG.log(Level.WARNING, () -> name() + ": SQ " + qid + " worker still busy at deletion");
        }
        int tail = sq.shadowDoorbell >= 0 ? readShadowOr(sq.shadowDoorbell, sq.tail) : sq.tail;
        CompletionQueue cq = sq.cq;
        boolean posted = false;
        while (tail >= 0 && tail < sq.size && sq.head != tail && cq.reserve()) {
            int cid;
            try {
                cid = Command.read(mem, sq.entryAddress(sq.head)).cid();
            } catch (GuestMemoryException e) {
                cq.release();
                break;
            }
            sq.head = sq.head + 1 == sq.size ? 0 : sq.head + 1;
            posted |= post(cq, 0, qid, sq.head, cid, NvmeStatus.ABORTED_SQ_DELETION);
        }
        cq.submissionQueues.remove(sq);
        if (posted) {
            interrupt(cq);
        }
        return Completion.SUCCESS;
    }

    private int readShadowOr(long gpa, int fallback) {
        try {
            return mem.read32(gpa);
        } catch (GuestMemoryException e) {
            return fallback;
        }
    }

    /** Delete I/O Completion Queue (§5.6): only once no submission queue posts to it. */
    Completion deleteCompletionQueue(int qid) throws CommandException {
        CompletionQueue cq;
        synchronized (this) {
            cq = qid == 0 || qid >= cqs.length() ? null : cqs.get(qid);
            if (cq == null) {
                throw new CommandException(NvmeStatus.INVALID_QUEUE_IDENTIFIER | NvmeStatus.DNR, "no CQ " + qid);
            }
            for (int i = 1; i < sqs.length(); i++) {
                SubmissionQueue sq = sqs.get(i);
                if (sq != null && sq.cq == cq) {
                    throw new CommandException(NvmeStatus.INVALID_QUEUE_DELETION | NvmeStatus.DNR, "CQ " + qid + " in use");
                }
            }
            cq.alive = false;
            cqs.set(qid, null);
        }
        cancelRegistration(2 * qid + 1);
        updateIntx();
        return Completion.SUCCESS;
    }

    // ---- shadow doorbells and ioeventfd ----

    /**
     * Doorbell Buffer Config (§5.7, NVMe 1.3 and later): PRP1 is the shadow doorbell buffer, PRP2 the EventIdx
     * buffer, each page aligned and laid out like the doorbell registers. Applies to the I/O queues that exist
     * now and to those created later; the current tail/head is written into each existing queue's shadow.
     */
    Completion configureShadowDoorbells(long shadow, long eventIdx) throws CommandException {
        long bytes = (long) sqs.length() * 8;
        if ((shadow & (pageSize - 1)) != 0 || (eventIdx & (pageSize - 1)) != 0) {
            throw CommandException.invalidField("doorbell buffers must be page aligned");
        }
        if (!mem.isValid(shadow, bytes) || !mem.isValid(eventIdx, bytes) || shadow == eventIdx) {
            throw CommandException.invalidField("doorbell buffers outside guest RAM");
        }
        synchronized (this) {
            shadowBase = shadow;
            eventIdxBase = eventIdx;
            for (int qid = 1; qid < sqs.length(); qid++) {
                attachShadow(sqs.get(qid), cqs.get(qid));
            }
        }
        return Completion.SUCCESS;
    }

    /** Gives a new or existing I/O queue its shadow doorbell and ioeventfd, if shadow doorbells are on. */
    private void attachShadow(SubmissionQueue sq, CompletionQueue cq) {
        long base = shadowBase;
        long ei = eventIdxBase;
        if (base < 0) {
            return;
        }
        try {
            if (sq != null && sq.id != 0 && sq.shadowDoorbell < 0) {
                long off = 8L * sq.id;
                mem.write32(base + off, sq.tail);
                mem.write32(ei + off, sq.tail);
                sq.eventIdx = ei + off;
                sq.shadowDoorbell = base + off;
                register(2 * sq.id);
                ring(sq.id);
            }
            if (cq != null && cq.id != 0 && cq.shadowDoorbell < 0) {
                long off = 8L * cq.id + 4;
                mem.write32(base + off, cq.head());
                mem.write32(ei + off, cq.head());
                cq.eventIdx = ei + off;
                cq.shadowDoorbell = base + off;
                register(2 * cq.id + 1);
            }
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("doorbell buffer was checked", e);
        }
    }

    private void register(int index) {
        synchronized (ioEventLock) {
            if (registrations[index] != null || barBase < 0) {
                return;
            }
            long gpa = barBase + DOORBELLS + 4L * index;
            registrations[index] = ioEvents.register(gpa, 4, () -> shadowRang(index));
        }
    }

    private void cancelRegistration(int index) {
        synchronized (ioEventLock) {
            if (registrations[index] != null) {
                registrations[index].cancel();
                registrations[index] = null;
            }
        }
    }

    private void cancelAllRegistrations() {
        synchronized (ioEventLock) {
            for (int i = 0; i < registrations.length; i++) {
                if (registrations[i] != null) {
                    registrations[i].cancel();
                    registrations[i] = null;
                }
            }
        }
    }

    /**
     * After any configuration write (or a reset): if BAR0 moved or was unmapped, move the ioeventfds with
     * it. Called with the PCI function's lock held, so it must not wait for anything else.
     */
    private void barMaybeMoved() {
        long base = pci.mappedAddress(REGISTERS_BAR);
        synchronized (ioEventLock) {
            if (base == barBase) {
                return;
            }
            for (int i = 0; i < registrations.length; i++) {
                if (registrations[i] != null) {
                    registrations[i].cancel();
                    registrations[i] = null;
                }
            }
            barBase = base;
            if (base < 0) {
                return;
            }
            for (int qid = 1; qid < sqs.length(); qid++) {
                SubmissionQueue sq = sqs.get(qid);
                if (sq != null && sq.shadowDoorbell >= 0) {
                    register(2 * qid);
                }
                CompletionQueue cq = cqs.get(qid);
                if (cq != null && cq.shadowDoorbell >= 0) {
                    register(2 * qid + 1);
                }
            }
        }
    }

    // ---- for tests ----

    int bar0Size() {
        return bar0Size;
    }

    int vectors() {
        return vectors;
    }
}
