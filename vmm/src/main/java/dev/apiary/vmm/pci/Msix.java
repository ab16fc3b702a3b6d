package dev.apiary.vmm.pci;

import static dev.apiary.vmm.pci.PciRegs.MSIX_ENTRY_ADDR_HI;
import static dev.apiary.vmm.pci.PciRegs.MSIX_ENTRY_ADDR_LO;
import static dev.apiary.vmm.pci.PciRegs.MSIX_ENTRY_DATA;
import static dev.apiary.vmm.pci.PciRegs.MSIX_ENTRY_SIZE;
import static dev.apiary.vmm.pci.PciRegs.MSIX_ENTRY_VECTOR_CONTROL;
import static dev.apiary.vmm.pci.PciRegs.MSIX_VECTOR_CONTROL_MASK;

import dev.apiary.vmm.device.MsiSink;
import java.lang.System.Logger.Level;

/**
 * The MSI-X table and Pending Bit Array of one function (PCI LB 3.0 §6.8.2). The capability's Message
 * Control bits live in configuration space; {@link PciFunction} mirrors them here. Table and PBA are reached
 * through the BAR window the device named; {@link #notify(int)} is called by the device, from any thread.
 *
 * <p>Access rules (§6.8.2: software uses aligned DWORD or aligned QWORD accesses; anything else is
 * undefined): reads of any size and alignment inside the table return the addressed bytes; DWORD writes at
 * DWORD-aligned offsets and QWORD writes at QWORD-aligned offsets take effect (a QWORD is two DWORDs, low
 * first); other writes are ignored and logged. The PBA is read-only.
 *
 * <p>Bus Master Enable does not gate delivery: every guest we target sets it before enabling MSI-X, and a
 * lost interrupt is worse than a delivered one.
 */
public final class Msix {
    private static final System.Logger LOG = System.getLogger(Msix.class.getName());

    private final int vectors;
    private final int tableBar;
    private final long tableOffset;
    private final int pbaBar;
    private final long pbaOffset;

    private final long[] address;
    private final int[] data;
    private final int[] vectorControl;
    private final long[] pending;
    private boolean enabled;
    private boolean functionMasked;
    private MsiSink sink;
    private String owner = "msix";

    Msix(int vectors, int tableBar, long tableOffset, int pbaBar, long pbaOffset) {
        this.vectors = vectors;
        this.tableBar = tableBar;
        this.tableOffset = tableOffset;
        this.pbaBar = pbaBar;
        this.pbaOffset = pbaOffset;
        this.address = new long[vectors];
        this.data = new int[vectors];
        this.vectorControl = new int[vectors];
        this.pending = new long[(vectors + 63) / 64];
        reset();
    }

    public int vectors() {
        return vectors;
    }

    public int tableBar() {
        return tableBar;
    }

    public long tableOffset() {
        return tableOffset;
    }

    public int pbaBar() {
        return pbaBar;
    }

    public long pbaOffset() {
        return pbaOffset;
    }

    long tableLength() {
        return (long) vectors * MSIX_ENTRY_SIZE;
    }

    long pbaLength() {
        return pending.length * 8L;
    }

    synchronized void attach(MsiSink sink, String owner) {
        this.sink = sink;
        this.owner = owner;
    }

    /** Power-on state: disabled, every vector masked, no pending bits (§6.8.2.9: Mask Bit resets to 1). */
    synchronized void reset() {
        enabled = false;
        functionMasked = false;
        for (int v = 0; v < vectors; v++) {
            address[v] = 0;
            data[v] = 0;
            vectorControl[v] = MSIX_VECTOR_CONTROL_MASK;
        }
        java.util.Arrays.fill(pending, 0);
    }

    public synchronized boolean enabled() {
        return enabled;
    }

    public synchronized boolean functionMasked() {
        return functionMasked;
    }

    public synchronized boolean masked(int vector) {
        return vector < 0 || vector >= vectors || functionMasked || (vectorControl[vector] & MSIX_VECTOR_CONTROL_MASK) != 0;
    }

    public synchronized boolean pending(int vector) {
        return vector >= 0 && vector < vectors && (pending[vector >>> 6] & (1L << vector)) != 0;
    }

    /**
     * Signals {@code vector}: delivered now when MSI-X is enabled and the vector and function are unmasked,
     * otherwise its pending bit is set and it is delivered when unmasked (§6.8.2.9).
     *
     * @return false when MSI-X is disabled (nothing is recorded: the device should use INTx instead, as
     *     QEMU's devices do) or the vector does not exist
     */
    public synchronized boolean notify(int vector) {
        if (!enabled || vector < 0 || vector >= vectors) {
            return false;
        }
        if (masked(vector)) {
            pending[vector >>> 6] |= 1L << vector;
        } else {
            deliver(vector);
        }
        return true;
    }

    /** Called by {@link PciFunction} after a write to Message Control. */
    synchronized void controlWritten(boolean enable, boolean functionMask) {
        this.enabled = enable;
        this.functionMasked = functionMask;
        deliverUnmaskedPending();
    }

    private void deliver(int vector) {
        if (sink != null) {
            sink.signal(address[vector], data[vector]);
        }
    }

    private void deliverUnmaskedPending() {
        if (!enabled || functionMasked) {
            return;
        }
        for (int word = 0; word < pending.length; word++) {
            long bits = pending[word];
            while (bits != 0) {
                int v = word * 64 + Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                if ((vectorControl[v] & MSIX_VECTOR_CONTROL_MASK) == 0) {
                    pending[word] &= ~(1L << v);
                    deliver(v);
                }
            }
        }
    }

    boolean inTable(int bar, long offset) {
        return bar == tableBar && offset >= tableOffset && offset < tableOffset + tableLength();
    }

    boolean inPba(int bar, long offset) {
        return bar == pbaBar && offset >= pbaOffset && offset < pbaOffset + pbaLength();
    }

    /** A read inside the table window; offset is relative to the table. */
    synchronized long readTable(long offset, int size) {
        long value = 0;
        for (int i = 0; i < size; i++) {
            long at = offset + i;
            value |= (long) (tableByte(at) & 0xFF) << (8 * i);
        }
        return value;
    }

    private int tableByte(long at) {
        if (at < 0 || at >= tableLength()) {
            return 0xFF;
        }
        int vector = (int) (at / MSIX_ENTRY_SIZE);
        int field = (int) (at % MSIX_ENTRY_SIZE);
        int dword = switch (field & ~3) {
            case MSIX_ENTRY_ADDR_LO -> (int) address[vector];
            case MSIX_ENTRY_ADDR_HI -> (int) (address[vector] >>> 32);
            case MSIX_ENTRY_DATA -> data[vector];
            default -> vectorControl[vector];
        };
        return dword >>> (8 * (field & 3));
    }

    /** A write inside the table window; offset is relative to the table. */
    synchronized void writeTable(long offset, int size, long value) {
        if (size == 4 && (offset & 3) == 0) {
            writeTableDword(offset, (int) value);
        } else if (size == 8 && (offset & 7) == 0) {
            writeTableDword(offset, (int) value);
            writeTableDword(offset + 4, (int) (value >>> 32));
        } else {
            LOG.log(Level.DEBUG, () -> String.format("%s: ignored MSI-X table write of %d bytes at 0x%x",
                    owner, size, offset));
        }
    }

    private void writeTableDword(long offset, int value) {
        if (offset < 0 || offset >= tableLength()) {
            return;
        }
        int vector = (int) (offset / MSIX_ENTRY_SIZE);
        switch ((int) (offset % MSIX_ENTRY_SIZE)) {
            // §6.8.2.6: the two low address bits are reserved (DWORD-aligned messages).
            case MSIX_ENTRY_ADDR_LO -> address[vector] = (address[vector] & 0xFFFF_FFFF_0000_0000L) | (value & 0xFFFF_FFFCL);
            case MSIX_ENTRY_ADDR_HI -> address[vector] = (address[vector] & 0xFFFF_FFFFL) | ((long) value << 32);
            case MSIX_ENTRY_DATA -> data[vector] = value;
            default -> {
                boolean wasMasked = masked(vector);
                // §6.8.2.9: only the Mask Bit is defined; the rest is reserved and reads 0.
                vectorControl[vector] = value & MSIX_VECTOR_CONTROL_MASK;
                if (wasMasked && !masked(vector) && enabled && pending(vector)) {
                    pending[vector >>> 6] &= ~(1L << vector);
                    deliver(vector);
                }
            }
        }
    }

    /** A read inside the PBA window; offset is relative to the PBA. */
    synchronized long readPba(long offset, int size) {
        long value = 0;
        for (int i = 0; i < size; i++) {
            long at = offset + i;
            int b = at >= 0 && at < pbaLength() ? (int) (pending[(int) (at >>> 3)] >>> (8 * (at & 7))) & 0xFF : 0;
            value |= (long) b << (8 * i);
        }
        return value;
    }
}
