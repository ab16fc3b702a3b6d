package dev.apiary.vmm.x86;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** A machine for CPU tests: RAM from guest-physical 0, a COM1 that collects output, a log of other port I/O. */
final class TestBus implements CpuBus {
    final ByteBuffer ram;
    final StringBuilder serial = new StringBuilder();
    final List<String> io = new ArrayList<>();

    TestBus(int megabytes) {
        ram = ByteBuffer.allocateDirect(megabytes << 20).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public ByteBuffer ramChunk(int gib) {
        return gib == 0 ? ram : null;
    }

    @Override
    public int ramChunkCount() {
        return 1;
    }

    @Override
    public long mmioRead(long physical, int size) {
        return -1L;
    }

    @Override
    public void mmioWrite(long physical, int size, long value) {}

    @Override
    public long portIn(int port, int size) {
        if (port == 0x3FD) {
            return 0x60; // LSR: transmitter empty
        }
        io.add("in " + Integer.toHexString(port));
        return size == 4 ? 0xFFFF_FFFFL : size == 2 ? 0xFFFF : 0xFF;
    }

    @Override
    public void portOut(int port, int size, long value) {
        if (port == 0x3F8) {
            serial.append((char) (value & 0xFF));
            return;
        }
        io.add("out " + Integer.toHexString(port) + "=" + Long.toHexString(value));
    }

    void load(long address, byte[] bytes) {
        ram.put((int) address, bytes);
    }

    long read64(long address) {
        return ram.getLong((int) address);
    }

    void write64(long address, long v) {
        ram.putLong((int) address, v);
    }
}
