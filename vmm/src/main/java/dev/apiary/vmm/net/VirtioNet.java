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
import dev.apiary.vmm.os.NativeStruct;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
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

    /** The device thread of one queue pair. */
    private final class PairWorker implements Runnable {
        private final int pair;
        private final NetBackend backend;
        private final Poller poller;
        private final Thread thread;
        private final NativeStruct txBuf = new NativeStruct(MAX_FRAME + HDR_SIZE);
        private final NativeStruct rxBuf = new NativeStruct(MAX_FRAME + HDR_SIZE);
        private final Object lock = new Object();
        private volatile boolean held = true;
        private volatile boolean stopping;
        private boolean busy; // guarded by lock
        // receive state, owned by the thread
        private int pending; // bytes of the frame in rxBuf (header included) waiting for guest buffers, or 0
        private boolean stalled;
        private final ArrayList<Chain> gathered = new ArrayList<>();
        private long gatheredBytes;

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
            if (pending > 0) {
                rxDropped.increment();
            }
            pending = 0;
            stalled = false;
            gathered.clear();
            gatheredBytes = 0;
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
                    boolean wantFrames = !held && !transport.broken() && pending == 0 && rxQueueReady();
                    poller.await(wantFrames);
                }
            }
        }

        private boolean rxQueueReady() {
            return pair < activePairs && transport.queue(2 * pair).enabled();
        }

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

        private void send(Chain c) throws GuestMemoryException {
            long total = c.readableBytes();
            if (c.fault() != null || total < HDR_SIZE + 14 || total > HDR_SIZE + MAX_FRAME) {
                txDropped.increment();
                return;
            }
            ByteBuffer b = txBuf.buf().clear().limit((int) total);
            c.gather(mem, 0, b);
            boolean ok = backend.vnetHeader() ? backend.send(txBuf, 0, (int) total)
                    : backend.send(txBuf, HDR_SIZE, (int) total - HDR_SIZE);
            if (ok) {
                txFrames.increment();
                txBytes.add(total - HDR_SIZE);
            } else {
                txDropped.increment();
            }
        }

        private boolean receive() throws VirtqueueException, GuestMemoryException {
            if (!rxQueueReady()) {
                return false;
            }
            Virtqueue q = transport.queue(2 * pair);
            int delivered = 0;
            boolean more = true;
            while (delivered < BUDGET) {
                if (pending == 0 && !readFrame()) {
                    more = false;
                    break;
                }
                if (pending == 0) {
                    continue; // dropped or filtered
                }
                if (!deliver(q)) {
                    if (!stalled) {
                        stalled = true;
                        rxStalls.increment();
                    }
                    more = false;
                    break;
                }
                stalled = false;
                delivered++;
            }
            if (q.shouldInterrupt()) {
                transport.interruptQueue(q);
            }
            return more && delivered > 0;
        }

        /** Reads one frame from the backend into rxBuf; false when none waits. */
        private boolean readFrame() {
            boolean hdr = backend.vnetHeader();
            rxBuf.buf().clear(); // the last delivery left a limit on the shared view
            int n = backend.receive(rxBuf, hdr ? 0 : HDR_SIZE);
            if (n <= 0) {
                return false;
            }
            int len = hdr ? n : n + HDR_SIZE;
            ByteBuffer b = rxBuf.buf();
            if (!hdr) {
                for (int i = 0; i < HDR_SIZE; i++) {
                    b.put(i, (byte) 0);
                }
            }
            if (len < HDR_SIZE + 14) {
                rxDropped.increment();
                return true;
            }
            long dst = 0;
            for (int i = 0; i < 6; i++) {
                dst = (dst << 8) | (b.get(HDR_SIZE + i) & 0xFF);
            }
            if (!filter.accepts(dst)) {
                rxFiltered.increment();
                return true;
            }
            pending = len;
            return true;
        }

        /** Puts the pending frame into guest buffers; false when the guest has not posted enough (yet). */
        private boolean deliver(Virtqueue q) throws VirtqueueException, GuestMemoryException {
            boolean mergeable = (features & bit(F_MRG_RXBUF)) != 0;
            while (gatheredBytes < pending) {
                Chain c = q.pop();
                if (c == null) {
                    q.enableNotifications();
                    c = q.pop();
                    if (c == null) {
                        return false;
                    }
                }
                if (c.fault() != null || c.writableBytes() == 0) {
                    rxBadBuffers.increment();
                    q.push(c, 0);
                    continue;
                }
                gathered.add(c);
                gatheredBytes += c.writableBytes();
                if (!mergeable || gathered.size() >= q.size()) {
                    break;
                }
            }
            ByteBuffer b = rxBuf.buf();
            if (gatheredBytes < pending) {
                // Larger than every buffer the guest can offer (a single buffer without MRG_RXBUF): dropped.
                rxDropped.increment();
                for (Chain c : gathered) {
                    q.stage(c, 0);
                }
            } else {
                b.putShort(HDR_NUM_BUFFERS, (short) gathered.size());
                b.clear().limit(pending);
                for (Chain c : gathered) {
                    int n = c.scatter(mem, 0, b);
                    q.stage(c, n);
                }
                rxFrames.increment();
                rxBytes.add(pending - HDR_SIZE);
            }
            q.publish();
            gathered.clear();
            gatheredBytes = 0;
            pending = 0;
            return true;
        }
    }
}
