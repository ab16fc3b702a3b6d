package dev.apiary.vmm.accel.emu;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.x86.CpuBus;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The machine as the software CPU sees it: guest RAM chunks straight from {@link GuestMemory}, everything
 * else through the machine's port and MMIO buses (where the emulated IOAPIC and local APICs sit too).
 */
final class EmulatedBus implements CpuBus {
    private final GuestMemory memory;
    private volatile Bus ports;
    private volatile Bus mmio;
    /** Read-only memory (firmware code): [romBase, romBase + rom.capacity()), or none. */
    private volatile ByteBuffer rom;
    private volatile long romBase;

    EmulatedBus(GuestMemory memory) {
        this.memory = memory;
    }

    void attach(Bus ports, Bus mmio) {
        this.ports = ports;
        this.mmio = mmio;
    }

    @Override
    public ByteBuffer ramChunk(int gib) {
        return memory.chunk(gib);
    }

    @Override
    public int ramChunkCount() {
        return memory.chunkCount();
    }

    /** Maps read-only memory; its reads are answered here, its writes go to the MMIO bus. */
    void mapRom(long base, byte[] contents) {
        if (rom != null) {
            throw new IllegalStateException("read-only memory is mapped already");
        }
        romBase = base;
        rom = ByteBuffer.wrap(contents.clone()).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public boolean isRom(long physical) {
        ByteBuffer r = rom;
        return r != null && physical >= romBase && physical - romBase < r.capacity();
    }

    @Override
    public long mmioRead(long physical, int size) {
        ByteBuffer r = rom;
        if (r != null && physical >= romBase && physical - romBase <= r.capacity() - size) {
            int at = (int) (physical - romBase);
            return switch (size) {
                case 1 -> r.get(at) & 0xFFL;
                case 2 -> r.getShort(at) & 0xFFFFL;
                case 4 -> r.getInt(at) & 0xFFFF_FFFFL;
                case 8 -> r.getLong(at);
                default -> mmio.read(physical, size);
            };
        }
        return mmio.read(physical, size);
    }

    @Override
    public void mmioWrite(long physical, int size, long value) {
        mmio.write(physical, size, value);
    }

    @Override
    public long portIn(int port, int size) {
        return ports.read(port, size);
    }

    @Override
    public void portOut(int port, int size, long value) {
        ports.write(port, size, value);
    }
}
