package dev.apiary.vmm.virtio;

import static dev.apiary.vmm.virtio.VirtioRegs.*;

import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.pci.PciCapability;
import dev.apiary.vmm.pci.PciFunction;
import dev.apiary.vmm.pci.PciRegs;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The virtio 1.x modern PCI transport (virtio 1.2 §4.1), written once for every virtio device: vendor
 * 0x1AF4, device 0x1040 + type, revision 1; one 64-bit memory BAR holding the common configuration
 * (0x0000), ISR status (0x1000), device configuration (0x2000), notifications (0x3000, 4 bytes per queue)
 * and the MSI-X table (0x4000) and PBA (0x5000); vendor capabilities pointing there; MSI-X with one vector
 * per queue plus one for configuration changes; INTx pin A when MSI-X is off.
 *
 * <p>Negotiation (§3.1.1): FEATURES_OK sticks only when the driver accepted a subset of what was offered
 * that includes VIRTIO_F_VERSION_1 (no legacy interface); writing 0 to device_status resets the device
 * and returns once its threads are idle, so the driver's read-back of 0 means the reset is done.
 * A queue is enabled only when its size is a power of two no larger than the maximum and its rings are
 * aligned and inside guest RAM; otherwise, and whenever the device finds a queue broken
 * ({@link #needsReset}), DEVICE_NEEDS_RESET is set and a configuration interrupt sent (§2.1.2).
 *
 * <p>Locks: register accesses arrive on vCPU threads and are serialised on this object, which is held while
 * the device resets (waiting for its threads); device threads call {@link #interruptQueue} and
 * {@link #needsReset}, which take only {@code irqLock} (order: this → irqLock), so a reset can never wait
 * for a thread that waits for it.
 */
public final class VirtioPciTransport {
    private static final System.Logger LOG = System.getLogger(VirtioPciTransport.class.getName());

    public static final int BAR = 0;
    public static final long BAR_SIZE = 0x8000;
    public static final int COMMON_OFFSET = 0x0000;
    public static final int ISR_OFFSET = 0x1000;
    public static final int DEVICE_OFFSET = 0x2000;
    public static final int NOTIFY_OFFSET = 0x3000;
    public static final int NOTIFY_MULTIPLIER = 4;
    public static final int MSIX_TABLE_OFFSET = 0x4000;
    public static final int MSIX_PBA_OFFSET = 0x5000;
    /** Subsystem IDs (§4.1.2.1: 0x40 or higher for non-transitional devices). */
    public static final int SUBSYSTEM_VENDOR = PCI_VENDOR;
    public static final int SUBSYSTEM_ID = 0x1100;

    private final VirtioDevice device;
    private final GuestMemory mem;
    private final PciFunction pci;
    private final Virtqueue[] queues;
    private final long offered;

    private int deviceFeatureSelect;
    private int driverFeatureSelect;
    private long driverFeatures;
    private volatile long negotiated;
    private volatile int configMsixVector = NO_VECTOR;
    private int queueSelect;
    private volatile int status;
    /** Guards what device threads change: ISR, the NEEDS_RESET bit, the configuration generation. */
    private final Object irqLock = new Object();
    private int configGeneration; // guarded by irqLock
    private int isr; // guarded by irqLock
    private final AtomicLong needsResetCount = new AtomicLong();

    public VirtioPciTransport(VirtioDevice device, GuestMemory mem) {
        this.device = device;
        this.mem = mem;
        this.offered = device.features() | bit(F_VERSION_1);
        int n = device.queueCount();
        if (n < 1 || n > (MSIX_PBA_OFFSET - MSIX_TABLE_OFFSET) / 16 - 1 || n * NOTIFY_MULTIPLIER > ISR_OFFSET) {
            throw new IllegalArgumentException("unsupported queue count " + n);
        }
        if (device.configLength() > 0x1000) {
            throw new IllegalArgumentException("device configuration too large");
        }
        this.queues = new Virtqueue[n];
        for (int q = 0; q < n; q++) {
            queues[q] = new Virtqueue(q, mem, device.maxQueueSize(q));
        }
        int cls = device.pciClass();
        this.pci = PciFunction.builder(PCI_VENDOR, PCI_DEVICE_BASE + device.type())
                .revision(PCI_REVISION)
                .classCode(cls >>> 16, cls >>> 8, cls)
                .subsystem(SUBSYSTEM_VENDOR, SUBSYSTEM_ID)
                .interruptPin(1)
                .memoryBar64(BAR, BAR_SIZE, false, new Registers())
                .msix(n + 1, BAR, MSIX_TABLE_OFFSET, BAR, MSIX_PBA_OFFSET)
                .capability(vendorCap(CAP_COMMON_CFG, COMMON_OFFSET, COMMON_CFG_LENGTH, -1))
                .capability(vendorCap(CAP_ISR_CFG, ISR_OFFSET, 1, -1))
                .capability(vendorCap(CAP_DEVICE_CFG, DEVICE_OFFSET, Math.max(device.configLength(), 4), -1))
                .capability(vendorCap(CAP_NOTIFY_CFG, NOTIFY_OFFSET, n * NOTIFY_MULTIPLIER, NOTIFY_MULTIPLIER))
                .build();
    }

    /** struct virtio_pci_cap (§4.1.4), and virtio_pci_notify_cap when {@code multiplier >= 0}. */
    private static PciCapability vendorCap(int type, int offset, int length, int multiplier) {
        int capLen = multiplier >= 0 ? 20 : 16;
        byte[] body = new byte[capLen - 2];
        body[0] = (byte) capLen;
        body[1] = (byte) type;
        body[2] = (byte) BAR;
        putLe(body, 6, offset);
        putLe(body, 10, length);
        if (multiplier >= 0) {
            putLe(body, 14, multiplier);
        }
        return PciCapability.readOnly(PciRegs.CAP_ID_VENDOR, body);
    }

    private static void putLe(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    public PciFunction pciFunction() {
        return pci;
    }

    public Virtqueue queue(int q) {
        return queues[q];
    }

    /** The features both sides agreed on (valid from FEATURES_OK). */
    public long negotiatedFeatures() {
        return negotiated;
    }

    public int status() {
        return status;
    }

    /** Whether the device has given up on its queues until a reset. */
    public boolean broken() {
        return (status & STATUS_DEVICE_NEEDS_RESET) != 0;
    }

    /** How many times the device entered DEVICE_NEEDS_RESET. */
    public long needsResetCount() {
        return needsResetCount.get();
    }

    // ---- interrupts, from device threads ----

    /** Interrupts the driver for used buffers on {@code q}: its MSI-X vector, or ISR bit 0 and INTx. */
    public void interruptQueue(Virtqueue q) {
        if (pci.msix().enabled()) {
            int v = q.msixVector();
            if (v != NO_VECTOR) {
                pci.notifyMsix(v);
            }
            return;
        }
        raiseIsr(ISR_QUEUE);
    }

    /** A configuration change interrupt (§4.1.5.3). */
    public void interruptConfig() {
        synchronized (irqLock) {
            configGeneration = (configGeneration + 1) & 0xFF;
        }
        if (pci.msix().enabled()) {
            int v = configMsixVector;
            if (v != NO_VECTOR) {
                pci.notifyMsix(v);
            }
            return;
        }
        raiseIsr(ISR_CONFIG);
    }

    private void raiseIsr(int bit) {
        synchronized (irqLock) {
            isr |= bit;
            pci.setIntx(true);
        }
    }

    /**
     * The device found a queue broken (§2.1.2): DEVICE_NEEDS_RESET is set, the driver hears of it through a
     * configuration interrupt, and the device serves no queue until it is reset.
     */
    public void needsReset(String why) {
        boolean first;
        synchronized (irqLock) {
            first = (status & STATUS_DEVICE_NEEDS_RESET) == 0;
            status |= STATUS_DEVICE_NEEDS_RESET;
        }
        if (first) {
            needsResetCount.incrementAndGet();
            LOG.log(Level.WARNING, () -> name() + ": device needs reset: " + why);
            if ((status & STATUS_DRIVER_OK) != 0) {
                interruptConfig();
            }
        }
    }

    private String name() {
        return pci.address() == null ? "virtio" : pci.address().inventoryName("virtio");
    }

    /** The machine's reset: as if the driver wrote 0 to device_status; PCI state is reset by the bus. */
    public void reset() {
        synchronized (this) {
            resetDevice();
        }
    }

    private void resetDevice() {
        device.deviceReset();
        for (Virtqueue q : queues) {
            q.reset();
        }
        synchronized (irqLock) {
            status = 0;
            isr = 0;
            pci.setIntx(false);
        }
        deviceFeatureSelect = 0;
        driverFeatureSelect = 0;
        driverFeatures = 0;
        negotiated = 0;
        configMsixVector = NO_VECTOR;
        queueSelect = 0;
    }

    // ---- registers ----

    private synchronized long readCommon(int off, int size) {
        Virtqueue q = queueSelect < queues.length ? queues[queueSelect] : null;
        return switch (off) {
            case DEVICE_FEATURE_SELECT -> size == 4 ? deviceFeatureSelect : -1;
            case DEVICE_FEATURE -> size == 4 ? featureWord(offered, deviceFeatureSelect) : -1;
            case DRIVER_FEATURE_SELECT -> size == 4 ? driverFeatureSelect : -1;
            case DRIVER_FEATURE -> size == 4 ? featureWord(driverFeatures, driverFeatureSelect) : -1;
            case CONFIG_MSIX_VECTOR -> size == 2 ? configMsixVector : -1;
            case NUM_QUEUES -> size == 2 ? queues.length : -1;
            case DEVICE_STATUS -> size == 1 ? status : -1;
            case CONFIG_GENERATION -> size == 1 ? configGeneration() : -1;
            case QUEUE_SELECT -> size == 2 ? queueSelect : -1;
            case QUEUE_SIZE -> size == 2 ? (q == null ? 0 : q.size()) : -1;
            case QUEUE_MSIX_VECTOR -> size == 2 ? (q == null ? NO_VECTOR : q.msixVector()) : -1;
            case QUEUE_ENABLE -> size == 2 ? (q != null && q.enabled() ? 1 : 0) : -1;
            case QUEUE_NOTIFY_OFF, QUEUE_NOTIFY_DATA -> size == 2 ? (q == null ? 0 : queueSelect) : -1;
            case QUEUE_DESC, QUEUE_DESC + 4 -> half(q == null ? 0 : q.descAddress(), off - QUEUE_DESC, size);
            case QUEUE_DRIVER, QUEUE_DRIVER + 4 -> half(q == null ? 0 : q.availAddress(), off - QUEUE_DRIVER, size);
            case QUEUE_DEVICE, QUEUE_DEVICE + 4 -> half(q == null ? 0 : q.usedAddress(), off - QUEUE_DEVICE, size);
            default -> 0;
        };
    }

    private static long half(long value, int rel, int size) {
        if (size == 8 && rel == 0) {
            return value;
        }
        return size == 4 ? (value >>> (8 * rel)) & 0xFFFF_FFFFL : -1;
    }

    private static long featureWord(long features, int select) {
        return select == 0 ? features & 0xFFFF_FFFFL : select == 1 ? features >>> 32 : 0;
    }

    private synchronized void writeCommon(int off, int size, long value) {
        Virtqueue q = queueSelect < queues.length ? queues[queueSelect] : null;
        boolean configurable = q != null && !q.enabled() && (status & STATUS_DRIVER_OK) == 0;
        switch (off) {
            case DEVICE_FEATURE_SELECT -> {
                if (size == 4) {
                    deviceFeatureSelect = (int) value;
                }
            }
            case DRIVER_FEATURE_SELECT -> {
                if (size == 4) {
                    driverFeatureSelect = (int) value;
                }
            }
            case DRIVER_FEATURE -> {
                // §3.1.1: features are written before FEATURES_OK and never after.
                if (size == 4 && (status & STATUS_FEATURES_OK) == 0 && driverFeatureSelect < 2) {
                    int shift = 32 * driverFeatureSelect;
                    driverFeatures = (driverFeatures & ~(0xFFFF_FFFFL << shift)) | ((value & 0xFFFF_FFFFL) << shift);
                }
            }
            case CONFIG_MSIX_VECTOR -> {
                if (size == 2) {
                    configMsixVector = validVector((int) value & 0xFFFF);
                }
            }
            case DEVICE_STATUS -> {
                if (size == 1) {
                    writeStatus((int) value & 0xFF);
                }
            }
            case QUEUE_SELECT -> {
                if (size == 2) {
                    queueSelect = (int) value & 0xFFFF;
                }
            }
            case QUEUE_SIZE -> {
                if (size == 2 && configurable) {
                    q.setSize((int) value & 0xFFFF); // checked when the queue is enabled
                }
            }
            case QUEUE_MSIX_VECTOR -> {
                // §4.1.5.1.2: a vector the device cannot use reads back as NO_VECTOR.
                if (size == 2 && q != null) {
                    q.setMsixVector(validVector((int) value & 0xFFFF));
                }
            }
            case QUEUE_ENABLE -> {
                if (size == 2 && configurable && (value & 1) != 0) {
                    enableQueue(q);
                }
            }
            case QUEUE_DESC, QUEUE_DESC + 4 -> {
                if (configurable) {
                    q.setDesc(merge(q.descAddress(), off - QUEUE_DESC, size, value));
                }
            }
            case QUEUE_DRIVER, QUEUE_DRIVER + 4 -> {
                if (configurable) {
                    q.setAvail(merge(q.availAddress(), off - QUEUE_DRIVER, size, value));
                }
            }
            case QUEUE_DEVICE, QUEUE_DEVICE + 4 -> {
                if (configurable) {
                    q.setUsed(merge(q.usedAddress(), off - QUEUE_DEVICE, size, value));
                }
            }
            default -> { } // read-only or reserved
        }
    }

    private int validVector(int v) {
        return v < pci.msix().vectors() ? v : NO_VECTOR;
    }

    private static long merge(long old, int rel, int size, long value) {
        if (size == 8 && rel == 0) {
            return value;
        }
        if (size != 4) {
            return old;
        }
        int shift = 8 * rel;
        return (old & ~(0xFFFF_FFFFL << shift)) | ((value & 0xFFFF_FFFFL) << shift);
    }

    private void enableQueue(Virtqueue q) {
        String why = q.checkLayout();
        if (why != null) {
            needsReset(why);
            return;
        }
        q.enable((negotiated & bit(F_RING_EVENT_IDX)) != 0, (negotiated & bit(F_RING_INDIRECT_DESC)) != 0);
    }

    private void writeStatus(int v) {
        if (v == 0) {
            resetDevice();
            return;
        }
        int old;
        int next;
        synchronized (irqLock) {
            old = status;
            next = (v & ~STATUS_DEVICE_NEEDS_RESET) | (old & STATUS_DEVICE_NEEDS_RESET);
            next = checkFeatures(old, next);
            status = next;
        }
        if ((next & STATUS_DRIVER_OK) != 0 && (old & STATUS_DRIVER_OK) == 0) {
            if ((next & STATUS_FEATURES_OK) == 0) {
                needsReset("DRIVER_OK without FEATURES_OK");
                return;
            }
            device.activate(negotiated);
        }
    }

    private int checkFeatures(int old, int next) {
        if ((next & STATUS_FEATURES_OK) != 0 && (old & STATUS_FEATURES_OK) == 0) {
            // §3.1.1 step 5-6: the device keeps FEATURES_OK only for a subset it offered, with VERSION_1.
            if ((driverFeatures & ~offered) != 0 || (driverFeatures & bit(F_VERSION_1)) == 0) {
                next &= ~STATUS_FEATURES_OK;
            } else {
                negotiated = driverFeatures;
            }
        }
        return next;
    }

    private int configGeneration() {
        synchronized (irqLock) {
            return configGeneration;
        }
    }

    private int readIsr() {
        synchronized (irqLock) {
            int v = isr;
            isr = 0; // §4.1.4.5: reading ISR status resets it and deasserts INTx
            pci.setIntx(false);
            return v;
        }
    }

    private void notifyWrite(long offset) {
        if (offset % NOTIFY_MULTIPLIER != 0) {
            return;
        }
        int q = (int) (offset / NOTIFY_MULTIPLIER);
        if (q < queues.length && queues[q].enabled() && (status & STATUS_DRIVER_OK) != 0 && !broken()) {
            device.queueNotify(q);
        }
    }

    /** BAR0: the transport's structures; MSI-X table and PBA are served by {@link PciFunction} before this. */
    private final class Registers implements IoHandler {
        @Override
        public long read(long offset, int size) {
            long ones = size >= 8 ? -1L : (1L << (8 * size)) - 1;
            if (offset >= COMMON_OFFSET && offset + size <= COMMON_OFFSET + COMMON_CFG_LENGTH) {
                long v = readCommon((int) (offset - COMMON_OFFSET), size);
                return v == -1 ? ones : v & ones;
            }
            if (offset == ISR_OFFSET && size == 1) {
                return readIsr();
            }
            if (offset >= DEVICE_OFFSET && offset + size <= DEVICE_OFFSET + device.configLength()) {
                synchronized (VirtioPciTransport.this) {
                    return device.readConfig((int) (offset - DEVICE_OFFSET), size) & ones;
                }
            }
            return 0;
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset >= COMMON_OFFSET && offset + size <= COMMON_OFFSET + COMMON_CFG_LENGTH) {
                writeCommon((int) (offset - COMMON_OFFSET), size, value);
            } else if (offset >= NOTIFY_OFFSET && offset < NOTIFY_OFFSET + ISR_OFFSET) {
                notifyWrite(offset - NOTIFY_OFFSET);
            } else if (offset >= DEVICE_OFFSET && offset + size <= DEVICE_OFFSET + device.configLength()) {
                synchronized (VirtioPciTransport.this) {
                    device.writeConfig((int) (offset - DEVICE_OFFSET), size, value);
                }
            }
        }
    }
}
