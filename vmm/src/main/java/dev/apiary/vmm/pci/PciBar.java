package dev.apiary.vmm.pci;

import dev.apiary.vmm.bus.IoHandler;

/**
 * One Base Address Register a device declares: which kind of space it decodes, its size (a power of two)
 * and the handler for accesses inside the window. The handler may be {@code null} for a BAR that holds only
 * the MSI-X table and PBA.
 */
public record PciBar(int index, Kind kind, long size, boolean prefetchable, IoHandler handler) {
    public enum Kind {
        /** I/O space (PCI LB 3.0 §6.2.5.1: at most 256 bytes). */
        IO,
        /** 32-bit memory space. */
        MEMORY32,
        /** 64-bit memory space; occupies this BAR and the next. */
        MEMORY64
    }

    public PciBar {
        if (index < 0 || index >= PciRegs.BAR_COUNT || (kind == Kind.MEMORY64 && index == PciRegs.BAR_COUNT - 1)) {
            throw new IllegalArgumentException("bad BAR index " + index + " for " + kind);
        }
        if (Long.bitCount(size) != 1) {
            throw new IllegalArgumentException("BAR size must be a power of two, got " + size);
        }
        switch (kind) {
            case IO -> {
                if (size < 4 || size > 256 || prefetchable) {
                    throw new IllegalArgumentException("I/O BAR must be 4..256 bytes, not prefetchable: " + size);
                }
            }
            case MEMORY32 -> {
                if (size < 16 || size > (1L << 31)) {
                    throw new IllegalArgumentException("32-bit memory BAR must be 16 B..2 GiB: " + size);
                }
            }
            case MEMORY64 -> {
                if (size < 16 || size > (1L << 62)) {
                    throw new IllegalArgumentException("64-bit memory BAR too small or large: " + size);
                }
            }
        }
    }

    /** The read-only low bits of the (low) register: space, type and prefetchable (PCI LB 3.0 §6.2.5.1). */
    int typeBits() {
        return switch (kind) {
            case IO -> PciRegs.BAR_SPACE_IO;
            case MEMORY32 -> prefetchable ? PciRegs.BAR_MEM_PREFETCHABLE : 0;
            case MEMORY64 -> PciRegs.BAR_MEM_TYPE_64 | (prefetchable ? PciRegs.BAR_MEM_PREFETCHABLE : 0);
        };
    }

    /** The bits of the (64-bit) address a guest can set: the address bits above the size. */
    long addressMask() {
        long mask = ~(size - 1);
        return switch (kind) {
            case IO -> mask & 0xFFFF_FFFCL;
            case MEMORY32 -> mask & 0xFFFF_FFF0L;
            case MEMORY64 -> mask & ~0xFL;
        };
    }

    boolean isIo() {
        return kind == Kind.IO;
    }
}
