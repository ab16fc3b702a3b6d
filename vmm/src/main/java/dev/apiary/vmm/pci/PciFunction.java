package dev.apiary.vmm.pci;

import static dev.apiary.vmm.pci.PciRegs.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.MsiSink;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The configuration space of one PCI function with a type-0 header, written once for every device: a
 * device declares its identity, BARs, capabilities, MSI-X and device-specific registers through
 * {@link #builder}, supplies an {@link IoHandler} per BAR, and drives its INTx pin with {@link #setIntx}.
 *
 * <p>Configuration space is an image of 256 bytes with a mask of guest-writable bits per byte: identity
 * registers, header type, status and the interrupt pin are read-only; the command register (I/O, memory,
 * bus master, INTx disable), cache line size, interrupt line, BAR address bits and capability bits a
 * capability marks writable are read/write. BAR sizing therefore works exactly as firmware does it: writing
 * all ones and reading back yields the size mask with the read-only type bits (PCI LB 3.0 §6.2.5.1).
 *
 * <p>BAR mapping: a BAR is mapped on the machine's port bus (I/O BARs) or MMIO bus (memory BARs) while its
 * decode bit in the command register is set and its address is neither zero nor the all-ones sizing
 * pattern (and fits: an I/O BAR below 64 KiB). Moving a BAR or clearing the decode bit unmaps it first. A
 * BAR a guest programs over another device's window is <em>not mapped</em> (the bus refuses it, see
 * {@link Bus#tryRegister}); the function retries on the next change of command or BAR registers. Real
 * hardware would decode both and produce garbage; refusing keeps the other device intact.
 *
 * <p>INTx: {@link #setIntx} records the device's pin state, which the Interrupt Status bit reflects; the
 * pin drives the GSI {@link PciInterruptRouting#gsi} only while INTx Disable is clear and MSI-X is disabled
 * (PCI LB 3.0 §6.8.2: a function with MSI-X enabled must not use INTx).
 *
 * <p>Thread safety: configuration accesses, BAR changes and INTx are serialised on this object. Accesses to
 * mapped BARs go straight to the device's handler (the bus snapshot is lock-free).
 */
public final class PciFunction {
    private static final System.Logger LOG = System.getLogger(PciFunction.class.getName());
    private static final long UNMAPPED = -1;

    /** Told after every guest write to configuration space, with the stored (masked) result in place. */
    @FunctionalInterface
    public interface ConfigWriteListener {
        void configWritten(int offset, int size, long value);
    }

    private final byte[] resetImage;
    private final byte[] writable;
    private final byte[] config = new byte[CONFIG_SPACE_SIZE];
    private final PciBar[] bars;
    private final BarWindow[] windows;
    private final long[] mappedBase = new long[BAR_COUNT];
    private final long[] refusedBase = new long[BAR_COUNT];
    private final Msix msix;
    private final int msixCapOffset;
    private final Map<Integer, Integer> capabilityOffsets;
    private final ConfigWriteListener listener;
    private final int interruptPin;

    private PciAddress address;
    private Bus portBus;
    private Bus mmioBus;
    private InterruptLine intx;
    private boolean intxAsserted;

    private PciFunction(Builder b, byte[] resetImage, byte[] writable, Map<Integer, Integer> caps, int msixCap) {
        this.resetImage = resetImage;
        this.writable = writable;
        this.bars = b.bars.clone();
        this.windows = new BarWindow[BAR_COUNT];
        for (PciBar bar : bars) {
            if (bar != null) {
                windows[bar.index()] = new BarWindow(bar);
            }
        }
        this.msix = b.msix;
        this.msixCapOffset = msixCap;
        this.capabilityOffsets = Map.copyOf(caps);
        this.listener = b.listener;
        this.interruptPin = b.interruptPin;
        java.util.Arrays.fill(mappedBase, UNMAPPED);
        java.util.Arrays.fill(refusedBase, UNMAPPED);
        System.arraycopy(resetImage, 0, config, 0, CONFIG_SPACE_SIZE);
    }

    public static Builder builder(int vendorId, int deviceId) {
        return new Builder(vendorId, deviceId);
    }

    /** Connects the function to the machine; called by {@link PciBus#attach}. */
    synchronized void attach(PciAddress address, Bus portBus, Bus mmioBus, InterruptLine intx, MsiSink msiSink) {
        if (this.address != null) {
            throw new IllegalStateException("function already attached at " + this.address);
        }
        this.address = address;
        this.portBus = portBus;
        this.mmioBus = mmioBus;
        this.intx = intx;
        if (msix != null) {
            msix.attach(msiSink, "pci " + address);
        }
    }

    /** Where the function is attached, or null before {@link PciBus#attach}. */
    public synchronized PciAddress address() {
        return address;
    }

    /** Power-on state: header and capabilities to their reset values, BARs unmapped, MSI-X off, INTx low. */
    public synchronized void reset() {
        System.arraycopy(resetImage, 0, config, 0, CONFIG_SPACE_SIZE);
        intxAsserted = false;
        if (msix != null) {
            msix.reset();
        }
        refreshBars();
        updateIntx();
    }

    // ---- configuration space ----

    /** A configuration read of 1, 2 or 4 bytes; anything out of range reads all ones. */
    public synchronized long readConfig(int offset, int size) {
        if (!validAccess(offset, size)) {
            return (1L << (8 * Math.max(1, Math.min(size, 4)))) - 1;
        }
        long value = 0;
        for (int i = 0; i < size; i++) {
            value |= (long) (config[offset + i] & 0xFF) << (8 * i);
        }
        return value;
    }

    /** A configuration write of 1, 2 or 4 bytes; read-only bits keep their value, bad accesses are dropped. */
    public synchronized void writeConfig(int offset, int size, long value) {
        if (!validAccess(offset, size)) {
            return;
        }
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            int mask = writable[at] & 0xFF;
            int b = (int) (value >>> (8 * i)) & 0xFF;
            config[at] = (byte) ((config[at] & ~mask) | (b & mask));
        }
        int end = offset + size;
        boolean command = overlaps(offset, end, COMMAND, 2);
        if (command || overlaps(offset, end, BAR0, 4 * BAR_COUNT)) {
            refreshBars();
        }
        if (msix != null && overlaps(offset, end, msixCapOffset + MSIX_MESSAGE_CONTROL, 2)) {
            int control = (int) readConfig(msixCapOffset + MSIX_MESSAGE_CONTROL, 2);
            msix.controlWritten((control & MSIX_CONTROL_ENABLE) != 0, (control & MSIX_CONTROL_FUNCTION_MASK) != 0);
            updateIntx();
        } else if (command) {
            updateIntx();
        }
        if (listener != null) {
            listener.configWritten(offset, size, value);
        }
    }

    private static boolean validAccess(int offset, int size) {
        return (size == 1 || size == 2 || size == 4) && offset >= 0 && offset + size <= CONFIG_SPACE_SIZE;
    }

    private static boolean overlaps(int start, int end, int regStart, int regLength) {
        return start < regStart + regLength && regStart < end;
    }

    public synchronized int command() {
        return (int) readConfig(COMMAND, 2);
    }

    /** Whether the guest allowed the function to master the bus (DMA and MSI writes). */
    public synchronized boolean busMasterEnabled() {
        return (command() & COMMAND_BUS_MASTER) != 0;
    }

    /** Offset of the first capability with this ID, or -1. */
    public int capabilityOffset(int id) {
        return capabilityOffsets.getOrDefault(id, -1);
    }

    // ---- BARs ----

    /** The BAR declared at {@code index} (the low half of a 64-bit BAR), or null. */
    public PciBar bar(int index) {
        return index >= 0 && index < BAR_COUNT ? bars[index] : null;
    }

    /** The address the guest programmed into a BAR (both halves for a 64-bit BAR). */
    public synchronized long barAddress(int index) {
        PciBar bar = bar(index);
        if (bar == null) {
            return 0;
        }
        long lo = readConfig(BAR0 + 4 * index, 4);
        long addr = lo & ~(long) (bar.isIo() ? BAR_IO_FLAG_BITS : BAR_MEM_FLAG_BITS);
        if (bar.kind() == PciBar.Kind.MEMORY64) {
            addr |= readConfig(BAR0 + 4 * index + 4, 4) << 32;
        }
        return addr;
    }

    /** Where a BAR is mapped now, or -1 when it is not. */
    public synchronized long mappedAddress(int index) {
        return index >= 0 && index < BAR_COUNT ? mappedBase[index] : UNMAPPED;
    }

    private long wantedBase(PciBar bar) {
        int cmd = (int) readConfig(COMMAND, 2);
        if ((cmd & (bar.isIo() ? COMMAND_IO_SPACE : COMMAND_MEMORY_SPACE)) == 0) {
            return UNMAPPED;
        }
        long addr = barAddress(bar.index());
        long mask = bar.addressMask();
        long lowMask = mask & 0xFFFF_FFFFL;
        // The all-ones pattern of either half is firmware sizing the BAR, not a place to decode.
        long highMask = mask >>> 32;
        boolean lowAllOnes = lowMask != 0 && (addr & lowMask) == lowMask;
        boolean highAllOnes = bar.kind() == PciBar.Kind.MEMORY64 && highMask != 0 && (addr >>> 32) == highMask;
        if (addr == 0 || lowAllOnes || highAllOnes) {
            return UNMAPPED;
        }
        long end = addr + bar.size();
        if (Long.compareUnsigned(end, addr) <= 0 || (bar.isIo() && end > 0x1_0000L)) {
            return UNMAPPED;
        }
        return addr;
    }

    private void refreshBars() {
        for (PciBar bar : bars) {
            if (bar == null) {
                continue;
            }
            int i = bar.index();
            Bus bus = bar.isIo() ? portBus : mmioBus;
            long want = bus == null ? UNMAPPED : wantedBase(bar);
            if (want == mappedBase[i]) {
                continue;
            }
            if (mappedBase[i] != UNMAPPED) {
                bus.unregister(mappedBase[i], windows[i]);
                mappedBase[i] = UNMAPPED;
            }
            if (want == UNMAPPED) {
                refusedBase[i] = UNMAPPED;
                continue;
            }
            String name = "pci-" + address + " BAR" + i;
            if (bus.tryRegister(want, bar.size(), name, windows[i])) {
                mappedBase[i] = want;
                refusedBase[i] = UNMAPPED;
            } else if (refusedBase[i] != want) {
                refusedBase[i] = want;
                LOG.log(Level.WARNING, () -> String.format("%s: not mapped at 0x%x+0x%x: outside the address space or overlapping another window on %s",
                        name, want, bar.size(), bus.name()));
            }
        }
    }

    /** A BAR's window on its bus: the MSI-X table and PBA first, then the device's handler. */
    private final class BarWindow implements IoHandler {
        private final PciBar bar;

        BarWindow(PciBar bar) {
            this.bar = bar;
        }

        @Override
        public long read(long offset, int size) {
            if (msix != null) {
                if (msix.inTable(bar.index(), offset)) {
                    return msix.readTable(offset - msix.tableOffset(), size);
                }
                if (msix.inPba(bar.index(), offset)) {
                    return msix.readPba(offset - msix.pbaOffset(), size);
                }
            }
            if (bar.handler() == null) {
                return size >= 8 ? -1L : (1L << (8 * size)) - 1;
            }
            try {
                return bar.handler().read(offset, size);
            } catch (RuntimeException e) {
                // A device bug must not unwind a vCPU thread.
                LOG.log(Level.ERROR, "pci-" + address + " BAR" + bar.index() + " read at 0x" + Long.toHexString(offset), e);
                return size >= 8 ? -1L : (1L << (8 * size)) - 1;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            if (msix != null) {
                if (msix.inTable(bar.index(), offset)) {
                    msix.writeTable(offset - msix.tableOffset(), size, value);
                    return;
                }
                if (msix.inPba(bar.index(), offset)) {
                    return; // §6.8.2.10: the PBA is read-only
                }
            }
            if (bar.handler() == null) {
                return;
            }
            try {
                bar.handler().write(offset, size, value);
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "pci-" + address + " BAR" + bar.index() + " write at 0x" + Long.toHexString(offset), e);
            }
        }
    }

    // ---- interrupts ----

    /**
     * The device asserts (true) or deasserts (false) its INTx pin. Level-triggered: keep it asserted until the
     * guest has serviced the cause. Ignored for a function without an interrupt pin.
     */
    public synchronized void setIntx(boolean asserted) {
        if (interruptPin == 0) {
            return;
        }
        intxAsserted = asserted;
        updateIntx();
    }

    private void updateIntx() {
        int status = (int) readConfig(STATUS, 2);
        status = intxAsserted ? status | STATUS_INTERRUPT : status & ~STATUS_INTERRUPT;
        config[STATUS] = (byte) status;
        boolean level = intxAsserted && (command() & COMMAND_INTX_DISABLE) == 0 && (msix == null || !msix.enabled());
        if (intx != null) {
            intx.set(level);
        }
    }

    /** 1 = INTA … 4 = INTD, 0 = none. */
    public int interruptPin() {
        return interruptPin;
    }

    /** The MSI-X state, or null when the function has no MSI-X capability. */
    public Msix msix() {
        return msix;
    }

    /** Shorthand for {@code msix().notify(vector)}; false when there is no MSI-X or it is disabled. */
    public boolean notifyMsix(int vector) {
        return msix != null && msix.notify(vector);
    }

    // ---- builder ----

    /** Declares a function; {@link #build} lays out the header and capability list. */
    public static final class Builder {
        private final int vendorId;
        private final int deviceId;
        private int baseClass;
        private int subClass;
        private int progIf;
        private int revision;
        private int subsystemVendorId;
        private int subsystemId;
        private boolean multiFunction;
        private int interruptPin;
        private final PciBar[] bars = new PciBar[BAR_COUNT];
        private final boolean[] barSlotUsed = new boolean[BAR_COUNT];
        private final List<PciCapability> capabilities = new ArrayList<>();
        private int msixIndex = -1;
        private Msix msix;
        private int capabilityStart = DEVICE_SPECIFIC;
        private final List<long[]> registers = new ArrayList<>();
        private ConfigWriteListener listener;

        private Builder(int vendorId, int deviceId) {
            this.vendorId = checkWord(vendorId, "vendor ID");
            this.deviceId = checkWord(deviceId, "device ID");
        }

        private static int checkWord(int v, String what) {
            if (v < 0 || v > 0xFFFF) {
                throw new IllegalArgumentException(what + " out of range: " + v);
            }
            return v;
        }

        public Builder classCode(int baseClass, int subClass, int progIf) {
            this.baseClass = baseClass & 0xFF;
            this.subClass = subClass & 0xFF;
            this.progIf = progIf & 0xFF;
            return this;
        }

        public Builder revision(int revision) {
            this.revision = revision & 0xFF;
            return this;
        }

        public Builder subsystem(int vendorId, int id) {
            this.subsystemVendorId = checkWord(vendorId, "subsystem vendor ID");
            this.subsystemId = checkWord(id, "subsystem ID");
            return this;
        }

        /** Sets bit 7 of Header Type: function 0 of a multi-function device (PCI LB 3.0 §6.2.1). */
        public Builder multiFunction() {
            this.multiFunction = true;
            return this;
        }

        /** 1 = INTA … 4 = INTD. */
        public Builder interruptPin(int pin) {
            if (pin < 1 || pin > 4) {
                throw new IllegalArgumentException("interrupt pin must be 1..4: " + pin);
            }
            this.interruptPin = pin;
            return this;
        }

        public Builder bar(PciBar bar) {
            int slots = bar.kind() == PciBar.Kind.MEMORY64 ? 2 : 1;
            for (int i = bar.index(); i < bar.index() + slots; i++) {
                if (barSlotUsed[i]) {
                    throw new IllegalArgumentException("BAR" + i + " declared twice");
                }
                barSlotUsed[i] = true;
            }
            bars[bar.index()] = bar;
            return this;
        }

        public Builder ioBar(int index, long size, IoHandler handler) {
            return bar(new PciBar(index, PciBar.Kind.IO, size, false, handler));
        }

        public Builder memoryBar32(int index, long size, IoHandler handler) {
            return bar(new PciBar(index, PciBar.Kind.MEMORY32, size, false, handler));
        }

        public Builder memoryBar64(int index, long size, boolean prefetchable, IoHandler handler) {
            return bar(new PciBar(index, PciBar.Kind.MEMORY64, size, prefetchable, handler));
        }

        /** Appends a capability to the list (in declaration order). */
        public Builder capability(PciCapability capability) {
            capabilities.add(capability);
            return this;
        }

        /**
         * Declares MSI-X with {@code vectors} table entries, the table at {@code tableOffset} of BAR
         * {@code tableBar} and the PBA at {@code pbaOffset} of BAR {@code pbaBar} (both QWORD-aligned inside
         * memory BARs declared with {@link #bar}). Accesses there are served by {@link Msix}, not the BAR's
         * handler.
         */
        public Builder msix(int vectors, int tableBar, long tableOffset, int pbaBar, long pbaOffset) {
            if (msix != null) {
                throw new IllegalArgumentException("MSI-X declared twice");
            }
            if (vectors < 1 || vectors > MSIX_MAX_VECTORS || (tableOffset & 7) != 0 || (pbaOffset & 7) != 0
                    || tableOffset < 0 || pbaOffset < 0 || tableOffset > 0xFFFF_FFF8L || pbaOffset > 0xFFFF_FFF8L) {
                throw new IllegalArgumentException("bad MSI-X layout");
            }
            msix = new Msix(vectors, tableBar, tableOffset, pbaBar, pbaOffset);
            msixIndex = capabilities.size();
            capabilities.add(null); // placeholder: the capability body is made in build()
            return this;
        }

        /** Where the capability list starts (default 0x40, right after the header). */
        public Builder capabilitiesAt(int offset) {
            if (offset < DEVICE_SPECIFIC || offset >= CONFIG_SPACE_SIZE || (offset & 3) != 0) {
                throw new IllegalArgumentException("bad capability start " + offset);
            }
            this.capabilityStart = offset;
            return this;
        }

        /**
         * A device-specific register of {@code width} bytes (1, 2 or 4) at {@code offset} (0x40 or above) with
         * its reset value and the bits the guest may write; the device reads it with
         * {@link PciFunction#readConfig} and learns of writes through {@link #onConfigWrite}.
         */
        public Builder register(int offset, int width, long resetValue, long writableMask) {
            if (!validAccess(offset, width) || offset < DEVICE_SPECIFIC) {
                throw new IllegalArgumentException("bad device-specific register at " + offset);
            }
            registers.add(new long[] {offset, width, resetValue, writableMask});
            return this;
        }

        public Builder onConfigWrite(ConfigWriteListener listener) {
            this.listener = listener;
            return this;
        }

        public PciFunction build() {
            byte[] image = new byte[CONFIG_SPACE_SIZE];
            byte[] mask = new byte[CONFIG_SPACE_SIZE];
            boolean[] used = new boolean[CONFIG_SPACE_SIZE];
            java.util.Arrays.fill(used, 0, DEVICE_SPECIFIC, true);

            put(image, VENDOR_ID, 2, vendorId);
            put(image, DEVICE_ID, 2, deviceId);
            put(mask, COMMAND, 2, COMMAND_WRITABLE);
            put(image, REVISION_ID, 1, revision);
            put(image, PROG_IF, 1, progIf);
            put(image, SUBCLASS, 1, subClass);
            put(image, CLASS_CODE, 1, baseClass);
            put(mask, CACHE_LINE_SIZE, 1, 0xFF);
            put(image, HEADER_TYPE, 1, multiFunction ? HEADER_TYPE_MULTI_FUNCTION : 0);
            put(image, SUBSYSTEM_VENDOR_ID, 2, subsystemVendorId);
            put(image, SUBSYSTEM_ID, 2, subsystemId);
            put(mask, INTERRUPT_LINE, 1, 0xFF);
            put(image, INTERRUPT_PIN, 1, interruptPin);

            for (PciBar bar : bars) {
                if (bar == null) {
                    continue;
                }
                int reg = BAR0 + 4 * bar.index();
                put(image, reg, 4, bar.typeBits());
                put(mask, reg, 4, bar.addressMask());
                if (bar.kind() == PciBar.Kind.MEMORY64) {
                    put(mask, reg + 4, 4, bar.addressMask() >>> 32);
                }
            }

            for (long[] r : registers) {
                int offset = (int) r[0];
                int width = (int) r[1];
                claim(used, offset, width, "register");
                put(image, offset, width, r[2]);
                put(mask, offset, width, r[3]);
            }

            Map<Integer, Integer> offsets = new HashMap<>();
            int msixCap = -1;
            int at = capabilityStart;
            int previousNext = CAPABILITIES_POINTER;
            for (int i = 0; i < capabilities.size(); i++) {
                PciCapability cap = i == msixIndex ? msixCapability() : capabilities.get(i);
                while (at < CONFIG_SPACE_SIZE && used[at]) {
                    at += 4;
                }
                if (at + cap.length() > CONFIG_SPACE_SIZE) {
                    throw new IllegalArgumentException("capabilities do not fit in configuration space");
                }
                claim(used, at, cap.length(), "capability 0x" + Integer.toHexString(cap.id()));
                image[previousNext] = (byte) at;
                image[at] = (byte) cap.id();
                System.arraycopy(cap.body(), 0, image, at + 2, cap.body().length);
                System.arraycopy(cap.writableMask(), 0, mask, at + 2, cap.writableMask().length);
                offsets.putIfAbsent(cap.id(), at);
                if (i == msixIndex) {
                    msixCap = at;
                }
                previousNext = at + 1;
                at = (at + cap.length() + 3) & ~3;
            }
            if (!capabilities.isEmpty()) {
                put(image, STATUS, 2, STATUS_CAPABILITIES_LIST);
            }
            if (msix != null) {
                checkMsixPlacement();
            }
            return new PciFunction(this, image, mask, offsets, msixCap);
        }

        private PciCapability msixCapability() {
            byte[] body = new byte[MSIX_CAP_LENGTH - 2];
            byte[] mask = new byte[body.length];
            put(body, MSIX_MESSAGE_CONTROL - 2, 2, msix.vectors() - 1);
            put(mask, MSIX_MESSAGE_CONTROL - 2, 2, MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK);
            put(body, MSIX_TABLE - 2, 4, msix.tableOffset() | msix.tableBar());
            put(body, MSIX_PBA - 2, 4, msix.pbaOffset() | msix.pbaBar());
            return new PciCapability(CAP_ID_MSIX, body, mask);
        }

        private void checkMsixPlacement() {
            checkInsideMemoryBar(msix.tableBar(), msix.tableOffset(), msix.tableLength(), "MSI-X table");
            checkInsideMemoryBar(msix.pbaBar(), msix.pbaOffset(), msix.pbaLength(), "MSI-X PBA");
            if (msix.tableBar() == msix.pbaBar() && msix.tableOffset() < msix.pbaOffset() + msix.pbaLength()
                    && msix.pbaOffset() < msix.tableOffset() + msix.tableLength()) {
                throw new IllegalArgumentException("MSI-X table and PBA overlap");
            }
        }

        private void checkInsideMemoryBar(int index, long offset, long length, String what) {
            PciBar bar = index >= 0 && index < BAR_COUNT ? bars[index] : null;
            if (bar == null || bar.isIo() || offset + length > bar.size()) {
                throw new IllegalArgumentException(what + " must lie inside a declared memory BAR");
            }
        }

        private static void claim(boolean[] used, int offset, int length, String what) {
            for (int i = offset; i < offset + length; i++) {
                if (used[i]) {
                    throw new IllegalArgumentException(what + " at 0x" + Integer.toHexString(offset) + " overlaps");
                }
                used[i] = true;
            }
        }

        private static void put(byte[] target, int offset, int width, long value) {
            for (int i = 0; i < width; i++) {
                target[offset + i] = (byte) (value >>> (8 * i));
            }
        }
    }
}
