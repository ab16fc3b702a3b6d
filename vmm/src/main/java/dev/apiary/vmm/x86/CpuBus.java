package dev.apiary.vmm.x86;

import java.nio.ByteBuffer;

/**
 * The machine as the software CPU sees it: guest-physical RAM, MMIO and the port bus. The emulated
 * accelerator implements it over the VMM's guest memory and buses; tests implement it over plain buffers.
 * The CPU never sees a host address: every guest access goes through a RAM chunk (bounds-checked by the
 * buffer) or through {@link #mmioRead}/{@link #mmioWrite}.
 */
public interface CpuBus {
    /** RAM is handed out in chunks of 1 GiB, aligned to 1 GiB in guest-physical space. */
    int CHUNK_SHIFT = 30;

    /**
     * The RAM of guest-physical GiB number {@code gib} (index 0 is guest-physical {@code gib << 30}),
     * little-endian, its limit the number of RAM bytes in that GiB from its start; null where that GiB has
     * no RAM. Constant for the life of the bus, so the CPU may cache it. Addresses at or past the limit are
     * not RAM: they go to MMIO.
     */
    ByteBuffer ramChunk(int gib);

    /** How many GiB slots {@link #ramChunk} answers for (above that there is no RAM). */
    int ramChunkCount();

    /** A read of guest-physical memory that is not RAM (devices; all ones where nothing answers). */
    long mmioRead(long physical, int size);

    void mmioWrite(long physical, int size, long value);

    /**
     * Whether guest-physical {@code physical} (not RAM) is read-only memory whose contents never change while
     * the VM exists (firmware code in a read-only flash): code there is decoded once and cached, as in RAM.
     * Reads of it still go through {@link #mmioRead}; writes through {@link #mmioWrite}.
     */
    default boolean isRom(long physical) {
        return false;
    }

    /** Port I/O; {@code size} is 1, 2 or 4. Unclaimed reads return all ones. */
    long portIn(int port, int size);

    void portOut(int port, int size, long value);
}
