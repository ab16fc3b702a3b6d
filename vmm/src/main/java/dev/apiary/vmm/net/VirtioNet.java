package dev.apiary.vmm.net;

import static dev.apiary.vmm.net.VirtioNetRegs.*;
import static dev.apiary.vmm.virtio.VirtioRegs.F_RING_EVENT_IDX;
import static dev.apiary.vmm.virtio.VirtioRegs.F_RING_INDIRECT_DESC;
import static dev.apiary.vmm.virtio.VirtioRegs.bit;

import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import dev.apiary.vmm.pci.PciAddress;
import dev.apiary.vmm.pci.PciFunction;
import dev.apiary.vmm.virtio.Chain;
import dev.apiary.vmm.virtio.VirtioDevice;
import dev.apiary.vmm.virtio.VirtioPciTransport;
import dev.apiary.vmm.virtio.Virtqueue;
import dev.apiary.vmm.virtio.VirtqueueException;
import dev.apiary.vmm.os.IoVec;
import dev.apiary.vmm.os.NativeStruct;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * A virtio-net device (virtio 1.2 §5.1) on the virtio PCI transport: MAC, link status, MTU, mergeable
 * receive buffers, checksum and TSO offloads passed through a backend's virtio-net header, a control queue
 * (promiscuous and all-multicast modes, MAC filter tables, the MAC address, the number of queue pairs) and
 * up to {@code backends.length} queue pairs (receive queue 2i, transmit queue 2i+1, control queue last).
 *
 * <p>Threads: each queue pair has one device thread ({@link PairWorker}) that transmits what the guest
 * queued and delivers what its backend received; pair 0's thread also serves the control queue. A queue
 * notify (an MMIO write on a vCPU thread) only wakes that thread. When the guest has posted no receive
 * buffer, the thread stops reading the backend (back-pressure) until the guest notifies the receive queue.
 * Guest mistakes confined to one chain are counted in {@link #stats()}; a broken ring sets
 * DEVICE_NEEDS_RESET.
 */
public final class VirtioNet implements VirtioDevice, Device {
    private static final System.Logger LOG = System.getLogger(VirtioNet.class.getName());
    public static final int QUEUE_SIZE = 256;
    public static final int DEFAULT_MTU = 1500;
    /** Largest frame either way: a 64 KiB TSO frame with its headers. */
    static final int MAX_FRAME = 65_536 + 256;
    private static final int BUDGET = 64;
    private static final int MAX_CONTROL_COMMAND = 8192;
    private static final int MAC_TABLE_ENTRIES = 64;

    private final GuestMemory mem;
    private final NetBackend[] backends;
    private final int pairs;
    private final int mtu;
    private final long offered;
    private final VirtioPciTransport transport;
    private final PairWorker[] workers;
    private final MacAddress initialMac;
    private final GuestAddresses addresses = new GuestAddresses(this::addressesChanged);
    private volatile Runnable addressListener = () -> {};

    private volatile MacAddress mac;
    private volatile RxFilter filter;
    private volatile int activePairs = 1;
    private volatile long features;
    private volatile boolean active;

    final LongAdder txFrames = new LongAdder();
    final LongAdder txBytes = new LongAdder();
    final LongAdder txDropped = new LongAdder();
    final LongAdder rxFrames = new LongAdder();
    final LongAdder rxBytes = new LongAdder();
    final LongAdder rxDropped = new LongAdder();
    final LongAdder rxFiltered = new LongAdder();
    final LongAdder rxBadBuffers = new LongAdder();
    final LongAdder rxStalls = new LongAdder();
    final LongAdder controlErrors = new LongAdder();

    /**
     * @param mac      the guest's address
     * @param mtu      offered in the configuration (VIRTIO_NET_F_MTU)
     * @param backends one per queue pair; the device owns and closes them
     */
    public VirtioNet(GuestMemory mem, MacAddress mac, int mtu, NetBackend... backends) {
        if (backends.length < 1 || backends.length > 64) {
            throw new IllegalArgumentException("1 to 64 queue pairs, got " + backends.length);
        }
        this.mem = mem;
        this.backends = backends.clone();
        this.pairs = backends.length;
        this.mtu = mtu;
        this.initialMac = mac;
        this.mac = mac;
        this.filter = RxFilter.initial(mac);
        long f = bit(F_MAC) | bit(F_MTU) | bit(F_STATUS) | bit(F_MRG_RXBUF) | bit(F_CTRL_VQ) | bit(F_CTRL_RX)
                | bit(F_CTRL_MAC_ADDR) | bit(F_RING_INDIRECT_DESC) | bit(F_RING_EVENT_IDX);
        if (pairs > 1) {
            f |= bit(F_MQ);
        }
        boolean offloads = true;
        for (NetBackend b : backends) {
            offloads &= b.vnetHeader() && b.offloadsAvailable();
        }
        if (offloads) {
            // What the backend's header carries: partial checksums and TSO both ways (§5.1.6.2, §5.1.6.4).
            f |= bit(F_CSUM) | bit(F_GUEST_CSUM) | bit(F_GUEST_TSO4) | bit(F_GUEST_TSO6) | bit(F_GUEST_ECN)
                    | bit(F_HOST_TSO4) | bit(F_HOST_TSO6) | bit(F_HOST_ECN);
        }
        this.offered = f;
        this.transport = new VirtioPciTransport(this, mem);
        this.workers = new PairWorker[pairs];
        for (int i = 0; i < pairs; i++) {
            workers[i] = new PairWorker(i, this.backends[i]);
        }
    }

    public PciFunction pciFunction() {
        return transport.pciFunction();
    }

    public VirtioPciTransport transport() {
        return transport;
    }

    public MacAddress mac() {
        return mac;
    }

    /** The IP addresses the guest uses on this interface, as its traffic shows them ({@link GuestAddresses}). */
    public List<String> guestAddresses() {
        return addresses.addresses();
    }

    /** Called (on a device thread) whenever {@link #guestAddresses()} changes. */
    public void onGuestAddressesChanged(Runnable r) {
        addressListener = r;
    }

    private void addressesChanged() {
        addressListener.run();
    }

    /** What each queue pair's backend is, for logs and status. */
    public List<String> backends() {
        List<String> out = new ArrayList<>();
        for (NetBackend b : backends) {
            out.add(b.describe());
        }
        return out;
    }

    /** The host side of queue pair 0 (all pairs share it): a TAP's name, {@code passt:PID}. */
    public String hostInterface() {
        return backends[0].hostInterface();
    }

    public int queuePairs() {
        return pairs;
    }

    public NetStats stats() {
        return new NetStats(txFrames.sum(), txBytes.sum(), txDropped.sum(), rxFrames.sum(), rxBytes.sum(),
                rxDropped.sum(), rxFiltered.sum(), rxBadBuffers.sum(), rxStalls.sum(), controlErrors.sum(),
                transport.needsResetCount());
    }

    // ---- Device ----

    @Override
    public String name() {
        PciAddress a = transport.pciFunction().address();
        return a == null ? "pci-virtio-net" : a.inventoryName("virtio-net");
    }

    @Override
    public void start() {
        for (PairWorker w : workers) {
            w.start();
        }
    }

    @Override
    public void pause() {
        for (PairWorker w : workers) {
            w.hold(true);
        }
    }

    @Override
    public void resume() {
        if (active) {
            for (PairWorker w : workers) {
                w.hold(false);
            }
        }
    }

    @Override
    public void reset() {
        transport.reset();
    }

    @Override
    public void stop() {
        for (PairWorker w : workers) {
            w.stop();
        }
        for (NetBackend b : backends) {
            b.close();
        }
    }

    // ---- VirtioDevice ----

    @Override
    public int type() {
        return TYPE;
    }

    @Override
    public int pciClass() {
        return PCI_CLASS;
    }

    @Override
    public long features() {
        return offered;
    }

    @Override
    public int queueCount() {
        return 2 * pairs + 1;
    }

    @Override
    public int maxQueueSize(int q) {
        return QUEUE_SIZE;
    }

    @Override
    public int configLength() {
        return CONFIG_LENGTH;
    }

    @Override
    public long readConfig(int offset, int size) {
        byte[] c = new byte[CONFIG_LENGTH];
        System.arraycopy(mac.bytes(), 0, c, CONFIG_MAC, 6);
        c[CONFIG_STATUS] = STATUS_LINK_UP;
        c[CONFIG_MAX_PAIRS] = (byte) pairs;
        c[CONFIG_MAX_PAIRS + 1] = (byte) (pairs >>> 8);
        c[CONFIG_MTU] = (byte) mtu;
        c[CONFIG_MTU + 1] = (byte) (mtu >>> 8);
        long v = 0;
        for (int i = 0; i < size && offset + i < CONFIG_LENGTH; i++) {
            v |= (long) (c[offset + i] & 0xFF) << (8 * i);
        }
        return v;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // §5.1.4.2: the driver does not write the configuration of a modern device; ignored.
    }

    @Override
    public void activate(long negotiated) {
        features = negotiated;
        int tun = 0;
        if ((negotiated & bit(F_GUEST_CSUM)) != 0) {
            tun |= Tap.TUN_F_CSUM;
            if ((negotiated & bit(F_GUEST_TSO4)) != 0) {
                tun |= Tap.TUN_F_TSO4;
            }
            if ((negotiated & bit(F_GUEST_TSO6)) != 0) {
                tun |= Tap.TUN_F_TSO6;
            }
            if ((negotiated & bit(F_GUEST_ECN)) != 0 && (tun & (Tap.TUN_F_TSO4 | Tap.TUN_F_TSO6)) != 0) {
                tun |= Tap.TUN_F_TSO_ECN;
            }
        }
        for (NetBackend b : backends) {
            b.setOffloads(tun);
        }
        active = true;
        for (PairWorker w : workers) {
            w.hold(false);
        }
    }

    @Override
    public void queueNotify(int q) {
        int pair = q / 2;
        workers[pair < pairs ? pair : 0].kick();
    }

    @Override
    public void deviceReset() {
        active = false;
        for (PairWorker w : workers) {
            w.hold(true);
        }
        for (PairWorker w : workers) {
            w.forget();
        }
        for (NetBackend b : backends) {
            b.setOffloads(0);
        }
        features = 0;
        mac = initialMac;
        filter = RxFilter.initial(initialMac);
        activePairs = 1;
    }

    // ---- control queue (§5.1.6.5) ----

    private boolean serviceControl() throws VirtqueueException, GuestMemoryException {
        if ((features & bit(F_CTRL_VQ)) == 0) {
            return false;
        }
        Virtqueue q = transport.queue(2 * pairs);
        if (!q.enabled()) {
            return false;
        }
        int n = 0;
        for (Chain c; n < BUDGET && (c = q.pop()) != null; n++) {
            if (c.fault() != null || c.writableBytes() < 1 || c.readableBytes() < 2 || c.readableBytes() > MAX_CONTROL_COMMAND) {
                controlErrors.increment();
                q.push(c, 0);
                continue;
            }
            ByteBuffer cmd = ByteBuffer.allocate((int) c.readableBytes()).order(ByteOrder.LITTLE_ENDIAN);
            c.gather(mem, 0, cmd);
            cmd.flip();
            int ack = control(cmd.get() & 0xFF, cmd.get() & 0xFF, cmd.slice().order(ByteOrder.LITTLE_ENDIAN));
            if (ack != CTRL_OK) {
                controlErrors.increment();
            }
            c.scatter(mem, 0, ByteBuffer.wrap(new byte[] {(byte) ack}));
            q.push(c, 1);
        }
        if (n > 0 && q.shouldInterrupt()) {
            transport.interruptQueue(q);
        }
        return n > 0;
    }

    private int control(int cls, int cmd, ByteBuffer data) {
        switch (cls) {
            case CTRL_RX -> {
                if ((features & bit(F_CTRL_RX)) == 0 || data.remaining() != 1) {
                    return CTRL_ERR;
                }
                boolean on = data.get(0) != 0;
                RxFilter f = filter;
                if (cmd == CTRL_RX_PROMISC) {
                    filter = f.withPromisc(on);
                } else if (cmd == CTRL_RX_ALLMULTI) {
                    filter = f.withAllMulti(on);
                } else {
                    return CTRL_ERR; // the CTRL_RX_EXTRA commands are not offered
                }
                return CTRL_OK;
            }
            case CTRL_MAC -> {
                if (cmd == CTRL_MAC_ADDR_SET && (features & bit(F_CTRL_MAC_ADDR)) != 0 && data.remaining() == 6) {
                    byte[] b = new byte[6];
                    data.get(b);
                    MacAddress m = MacAddress.of(b, 0);
                    mac = m;
                    filter = filter.withMac(m.value());
                    return CTRL_OK;
                }
                if (cmd == CTRL_MAC_TABLE_SET && (features & bit(F_CTRL_RX)) != 0) {
                    long[] uni = macTable(data);
                    long[] multi = uni == null ? null : macTable(data);
                    if (multi == null || data.hasRemaining()) {
                        return CTRL_ERR;
                    }
                    filter = filter.withTables(uni, multi, MAC_TABLE_ENTRIES);
                    return CTRL_OK;
                }
                return CTRL_ERR;
            }
            case CTRL_MQ -> {
                if (cmd != CTRL_MQ_VQ_PAIRS_SET || (features & bit(F_MQ)) == 0 || data.remaining() != 2) {
                    return CTRL_ERR;
                }
                int n = data.getShort(0) & 0xFFFF;
                if (n < 1 || n > pairs) {
                    return CTRL_ERR;
                }
                activePairs = n;
                for (int i = 0; i < pairs; i++) {
                    if (backends[i] instanceof Tap t && pairs > 1) {
                        t.attachQueue(i < n);
                    }
                    workers[i].kick();
                }
                return CTRL_OK;
            }
            default -> {
                return CTRL_ERR;
            }
        }
    }

    /** struct virtio_net_ctrl_mac: le32 entries, then 6 bytes each; null when it does not fit. */
    private static long[] macTable(ByteBuffer data) {
        if (data.remaining() < 4) {
            return null;
        }
        long entries = data.getInt() & 0xFFFF_FFFFL;
        if (entries * 6 > data.remaining()) {
            return null;
        }
        long[] t = new long[(int) entries];
        byte[] b = new byte[6];
        for (int i = 0; i < entries; i++) {
            data.get(b);
            t[i] = MacAddress.of(b, 0).value();
        }
        return t;
    }

    // ---- the data path ----

    /** The largest frame either way with its header: what a receive reads into at most. */
    static final int RX_LIMIT = MAX_FRAME + HDR_SIZE;

    /**
     * The device thread of one queue pair.
     *
     * <p>Receive: the thread takes receive chains from the guest before it reads the backend (none posted: it
     * does not read, which is the back-pressure), points an iovec straight at their buffers and reads one
     * frame with one readv, so the kernel's copy is the only one. The chains are laid end to end as one
     * "virtual buffer" (with MRG_RXBUF; without, one chain per frame); a frame that needs more than the
     * chains taken so far spills into a host buffer behind them, and only that part is copied again once
     * the guest has posted more. Runts and frames for other addresses leave the chains where they are, for
     * the next frame.
     */
    private final class PairWorker implements Runnable {
        private final int pair;
        private final NetBackend backend;
        private final Poller poller;
        private final Thread thread;
        private final Object lock = new Object();
        private volatile boolean held = true;
        private volatile boolean stopping;
        private boolean busy; // guarded by lock
        // transmit, owned by the thread
        private final IoVec txIov = new IoVec(IoVec.MAX_ENTRIES);
        private final NativeStruct txBuf = new NativeStruct(RX_LIMIT);
        private final byte[] head = new byte[GuestAddresses.HEAD_BYTES];
        // receive state, owned by the thread
        private final IoVec rxIov = new IoVec(IoVec.MAX_ENTRIES);
        private final NativeStruct spill = new NativeStruct(RX_LIMIT);
        private final ByteBuffer small = ByteBuffer.allocate(HDR_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        private final byte[] dst = new byte[6];
        /** Receive chains taken from the ring and not yet used, in ring order. */
        private final ArrayList<Chain> posted = new ArrayList<>();
        /** Their writable bytes, each counted up to RX_LIMIT. */
        private long postedBytes;
        /** A frame (header included) that did not fit the posted chains and waits for more, or 0. */
        private int pendingLen;
        /** Where the spill buffer starts in the virtual buffer, while a frame is pending. */
        private long spillAt;
        private boolean stalled;
        private boolean backendFailed;

        PairWorker(int pair, NetBackend backend) {
            this.pair = pair;
            this.backend = backend;
            this.poller = new Poller(backend.pollFd());
            this.thread = new Thread(this, "virtio-net-" + backend.describe().replace(' ', '-') + "-pair" + pair);
            this.thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        void kick() {
            poller.wake();
        }

        /** Holds (true) the thread between batches and waits until it is there, or lets it go (false). */
        void hold(boolean h) {
            held = h;
            poller.wake();
            if (h && Thread.currentThread() != thread && thread.isAlive()) {
                synchronized (lock) {
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (busy && System.nanoTime() < deadline) {
                        try {
                            lock.wait(100);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                }
            }
        }

        /** Drops the receive state of a reset device (the thread is held). */
        void forget() {
            if (pendingLen > 0) {
                rxDropped.increment();
            }
            pendingLen = 0;
            stalled = false;
            posted.clear();
            postedBytes = 0;
        }

        void stop() {
            stopping = true;
            poller.wake();
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            poller.close();
        }

        @Override
        public void run() {
            while (!stopping) {
                boolean progress = false;
                synchronized (lock) {
                    busy = !held;
                    lock.notifyAll();
                }
                if (!held && !transport.broken()) {
                    try {
                        progress = transmit();
                        progress |= receive();
                        if (pair == 0) {
                            progress |= serviceControl();
                        }
                    } catch (VirtqueueException e) {
                        transport.needsReset(e.getMessage());
                    } catch (GuestMemoryException e) {
                        transport.needsReset("guest memory: " + e.getMessage());
                    } catch (RuntimeException e) {
                        LOG.log(Level.ERROR, thread.getName() + ": unexpected failure", e);
                        transport.needsReset("device error: " + e);
                    }
                }
                synchronized (lock) {
                    busy = false;
                    lock.notifyAll();
                }
                if (!progress && !stopping) {
                    boolean wantFrames = !held && !transport.broken() && !backendFailed && pendingLen == 0
                            && !posted.isEmpty() && rxQueueReady();
                    poller.await(wantFrames);
                }
            }
        }

        private boolean rxQueueReady() {
            return pair < activePairs && transport.queue(2 * pair).enabled();
        }

        // ---- transmit ----

        private boolean transmit() throws VirtqueueException, GuestMemoryException {
            Virtqueue q = transport.queue(2 * pair + 1);
            if (!q.enabled() || pair >= activePairs) {
                return false;
            }
            int n = 0;
            q.disableNotifications();
            while (n < BUDGET) {
                Chain c = q.pop();
                if (c == null) {
                    q.enableNotifications();
                    if (!q.hasAvailable()) {
                        break;
                    }
                    q.disableNotifications();
                    continue;
                }
                send(c);
                q.push(c, 0);
                n++;
            }
            if (n > 0 && q.shouldInterrupt()) {
                transport.interruptQueue(q);
            }
            return n == BUDGET;
        }

        /** One frame out: the backend reads it straight from the guest's buffers (writev). */
        private void send(Chain c) throws GuestMemoryException {
            long total = c.readableBytes();
            if (c.fault() != null || total < HDR_SIZE + 14 || total > RX_LIMIT) {
                txDropped.increment();
                return;
            }
            int seen = c.peekReadable(mem, HDR_SIZE, head, head.length);
            addresses.observe(head, seen, mac.value());
            long skip = backend.vnetHeader() ? 0 : HDR_SIZE;
            txIov.clear();
            if (c.readableInto(mem, txIov, skip, total - skip) < 0) {
                // More pieces than one system call takes (only a hostile or odd driver): gather them first.
                ByteBuffer b = txBuf.buf().clear().limit((int) (total - skip));
                c.gather(mem, skip, b);
                txIov.clear().add(txBuf.address(), total - skip);
            }
            if (backend.send(txIov)) {
                txFrames.increment();
                txBytes.add(total - HDR_SIZE);
            } else {
                txDropped.increment();
            }
        }

        // ---- receive ----

        private boolean receive() throws VirtqueueException, GuestMemoryException {
            if (!rxQueueReady()) {
                return false;
            }
            Virtqueue q = transport.queue(2 * pair);
            boolean mergeable = (features & bit(F_MRG_RXBUF)) != 0;
            int handled = 0;
            boolean more = true;
            while (handled < BUDGET) {
                if (pendingLen > 0) {
                    if (!completePending(q, mergeable)) {
                        stall();
                        more = false;
                        break;
                    }
                    handled++;
                    continue;
                }
                if (!take(q, mergeable, want(mergeable))) {
                    if (poller.backendReadable()) {
                        stall(); // a frame waits and the guest has given nowhere to put it
                    }
                    more = false;
                    break;
                }
                stalled = false;
                if (backendFailed || !readFrame(q, mergeable)) {
                    more = false;
                    break;
                }
                handled++;
            }
            if (q.shouldInterrupt()) {
                transport.interruptQueue(q);
            }
            return more && handled > 0;
        }

        private void stall() {
            if (!stalled) {
                stalled = true;
                rxStalls.increment();
            }
        }

        /** How many bytes of chains to hold before reading: room for the largest frame the host may send. */
        private long want(boolean mergeable) {
            if (!mergeable) {
                return 1;
            }
            boolean big = (features & (bit(F_GUEST_TSO4) | bit(F_GUEST_TSO6))) != 0;
            return big ? RX_LIMIT : HDR_SIZE + 14 + 4 + mtu;
        }

        /** Takes receive chains from the ring until there is room for a frame; false when there is none. */
        private boolean take(Virtqueue q, boolean mergeable, long want) throws VirtqueueException, GuestMemoryException {
            while (posted.isEmpty() || (mergeable && postedBytes < want && posted.size() < q.size())) {
                Chain c = q.pop();
                if (c == null) {
                    q.enableNotifications();
                    c = q.pop();
                    if (c == null) {
                        break;
                    }
                }
                // A chain that can hold no frame (or, merged, not even a header) is returned unused.
                long min = mergeable ? 1 : HDR_SIZE + 14;
                if (c.fault() != null || c.writableBytes() < min) {
                    rxBadBuffers.increment();
                    q.push(c, 0);
                    continue;
                }
                posted.add(c);
                postedBytes += Math.min(c.writableBytes(), RX_LIMIT);
            }
            return !posted.isEmpty() && postedBytes >= HDR_SIZE;
        }

        /**
         * Reads one frame straight into the posted chains (and the spill buffer behind them) and delivers it, or
         * drops or filters it (counted); false when none waits.
         */
        private boolean readFrame(Virtqueue q, boolean mergeable) throws VirtqueueException, GuestMemoryException {
            boolean hdr = backend.vnetHeader();
            long skip = hdr ? 0 : HDR_SIZE; // without the backend's header, the device writes one
            rxIov.clear().limit(IoVec.MAX_ENTRIES - 1);
            int chains = mergeable ? posted.size() : 1;
            long room = 0;
            for (int i = 0; i < chains && room < RX_LIMIT; i++) {
                long cap = Math.min(posted.get(i).writableBytes(), RX_LIMIT);
                long s = Math.min(skip, cap);
                skip -= s;
                long n = posted.get(i).writableInto(mem, rxIov, s, Math.min(cap - s, RX_LIMIT - room));
                if (n < 0) {
                    break; // the iovec is full: what did not fit goes to the spill buffer
                }
                room += n;
            }
            long coveredEnd = (hdr ? 0 : HDR_SIZE) + rxIov.bytes();
            rxIov.limit(IoVec.MAX_ENTRIES).add(spill.address(), RX_LIMIT);
            int n = backend.receive(rxIov);
            if (n <= 0) {
                if (n < 0) {
                    backendFailed = true;
                    LOG.log(Level.WARNING, backend.describe() + ": the backend failed; no more frames from it");
                }
                return false;
            }
            int len = hdr ? n : n + HDR_SIZE;
            if (len < HDR_SIZE + 14 || len - coveredEnd > RX_LIMIT) {
                rxDropped.increment(); // a runt, or more than the spill buffer holds (cut off)
                return true;
            }
            readVirtual(HDR_SIZE, dst, 6, coveredEnd);
            if (!filter.accepts(MacAddress.of(dst, 0).value())) {
                rxFiltered.increment();
                return true;
            }
            long chainRoom = capacity(chains);
            if (len > chainRoom) {
                if (!mergeable) {
                    // Larger than the guest's buffer: dropped, and the buffer goes back empty.
                    rxDropped.increment();
                    q.push(posted.remove(0), 0);
                    postedBytes = 0;
                    return true;
                }
                pendingLen = len; // delivered once the guest posts more (receive() comes back to it)
                spillAt = coveredEnd;
                return true;
            }
            if (len > coveredEnd) {
                copySpill(coveredEnd, len); // the iovec ran out of entries before the chains did
            }
            deliver(q, len, mergeable);
            return true;
        }

        /** Delivers the frame waiting in the spill buffer once the guest has posted room for it; false if not yet. */
        private boolean completePending(Virtqueue q, boolean mergeable) throws VirtqueueException, GuestMemoryException {
            if (postedBytes < pendingLen) {
                take(q, mergeable, pendingLen);
                if (postedBytes < pendingLen && posted.size() < q.size()) {
                    return false; // wait for the guest
                }
            }
            if (postedBytes < pendingLen) {
                rxDropped.increment(); // more than a whole ring of the guest's buffers holds
                pendingLen = 0;
                return true;
            }
            copySpill(spillAt, pendingLen);
            deliver(q, pendingLen, mergeable);
            pendingLen = 0;
            return true;
        }

        /** Writable bytes of the first {@code n} posted chains, each up to RX_LIMIT. */
        private long capacity(int n) {
            long c = 0;
            for (int i = 0; i < n; i++) {
                c += Math.min(posted.get(i).writableBytes(), RX_LIMIT);
            }
            return c;
        }

        /** Copies the spilled part of a frame, virtual bytes [from, to), to where it belongs in the chains. */
        private void copySpill(long from, long to) throws GuestMemoryException {
            ByteBuffer b = spill.buf().clear().limit((int) (to - from));
            writeVirtual(from, b);
        }

        /**
         * Finishes a frame of {@code len} bytes (header included) lying in the first posted chains: the header's
         * num_buffers (and the whole header for a backend without one), then the used ring.
         */
        private void deliver(Virtqueue q, int len, boolean mergeable) throws VirtqueueException, GuestMemoryException {
            int k = 0;
            long at = 0;
            while (at < len) {
                at += Math.min(posted.get(k).writableBytes(), RX_LIMIT);
                k++;
            }
            small.clear();
            if (!backend.vnetHeader()) {
                small.putLong(0).putShort((short) 0); // flags, gso_type, hdr_len, gso_size, csum_*: nothing to say
            }
            small.putShort((short) (mergeable ? k : 1)).flip();
            writeVirtual(backend.vnetHeader() ? HDR_NUM_BUFFERS : 0, small);
            long left = len;
            for (int i = 0; i < k; i++) {
                Chain c = posted.get(i);
                long cap = Math.min(c.writableBytes(), RX_LIMIT);
                int used = (int) Math.min(cap, left);
                q.stage(c, used);
                left -= used;
                postedBytes -= cap;
            }
            posted.subList(0, k).clear();
            q.publish();
            rxFrames.increment();
            rxBytes.add(len - HDR_SIZE);
        }

        /** Writes {@code src} at virtual offset {@code at} of the posted chains laid end to end. */
        private void writeVirtual(long at, ByteBuffer src) throws GuestMemoryException {
            for (int i = 0; i < posted.size() && src.hasRemaining(); i++) {
                Chain c = posted.get(i);
                long cap = Math.min(c.writableBytes(), RX_LIMIT);
                if (at >= cap) {
                    at -= cap;
                    continue;
                }
                int lim = src.limit();
                src.limit((int) Math.min(lim, src.position() + (cap - at)));
                c.scatter(mem, at, src);
                src.limit(lim);
                at = 0;
            }
        }

        /** Reads {@code n} bytes at virtual offset {@code at}: from the chains below {@code coveredEnd}, else the spill. */
        private void readVirtual(long at, byte[] out, int n, long coveredEnd) throws GuestMemoryException {
            int done = 0;
            long off = at;
            for (int i = 0; i < posted.size() && done < n && at + done < coveredEnd; i++) {
                long cap = Math.min(posted.get(i).writableBytes(), RX_LIMIT);
                if (off >= cap) {
                    off -= cap;
                    continue;
                }
                int k = (int) Math.min(Math.min(n - done, cap - off), coveredEnd - (at + done));
                done += posted.get(i).peekWritable(mem, off, out, done, k);
                off = 0;
            }
            if (done < n) {
                spill.buf().get((int) (at + done - coveredEnd), out, done, n - done);
            }
        }
    }
}
