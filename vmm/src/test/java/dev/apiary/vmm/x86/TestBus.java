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
    /** Read-only memory ending at 4 GiB (firmware code), or null; reads of it are counted, writes logged. */
    ByteBuffer rom;
    long romBase;
    int romReads;
    final List<String> romWrites = new ArrayList<>();

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

    /** Maps {@code contents} as ROM ending at 4 GiB. */
    void mapRom(byte[] contents) {
        rom = ByteBuffer.wrap(contents.clone()).order(ByteOrder.LITTLE_ENDIAN);
        romBase = (1L << 32) - contents.length;
    }

    @Override
    public boolean isRom(long physical) {
        return rom != null && physical >= romBase && physical < romBase + rom.capacity();
    }

    @Override
    public long mmioRead(long physical, int size) {
        if (isRom(physical)) {
            romReads++;
            long v = 0;
            for (int i = size - 1; i >= 0; i--) {
                v = (v << 8) | (rom.get((int) (physical - romBase + i)) & 0xFF);
            }
            return v;
        }
        return -1L;
    }

    @Override
    public void mmioWrite(long physical, int size, long value) {
        if (isRom(physical)) {
            romWrites.add(Long.toHexString(physical) + "=" + Long.toHexString(value));
        }
    }

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
