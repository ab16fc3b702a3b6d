package dev.apiary.vmm.accel.emu;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.x86.CpuBus;
import java.nio.ByteBuffer;

/**
 * The machine as the software CPU sees it: guest RAM chunks straight from {@link GuestMemory}, everything
 * else through the machine's port and MMIO buses (where the emulated IOAPIC and local APICs sit too).
 */
final class EmulatedBus implements CpuBus {
    private final GuestMemory memory;
    private volatile Bus ports;
    private volatile Bus mmio;

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

    @Override
    public long mmioRead(long physical, int size) {
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
