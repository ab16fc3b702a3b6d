package dev.apiary.vmm.pci;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import java.util.HashMap;
import java.util.Map;

/** Buses, fake interrupt lines and an MSI sink around a {@link PciBus}, driven through the config ports. */
final class PciTestRig {
    final Bus ports = new Bus("ports");
    final Bus mmio = new Bus("mmio");
    final Map<Integer, RecordingInterruptLine> gsis = new HashMap<>();
    final RecordingMsiSink msi = new RecordingMsiSink();
    final PciBus pci = new PciBus(ports, mmio, g -> gsis.computeIfAbsent(g, x -> new RecordingInterruptLine()), msi);

    PciTestRig() {
        pci.mapConfigPorts();
    }

    static int address(int slot, int function, int register) {
        return 0x8000_0000 | (slot << 11) | (function << 8) | (register & 0xFC);
    }

    long read(int slot, int function, int register, int size) {
        ports.write(0xCF8, 4, address(slot, function, register));
        return ports.read(0xCFC + (register & 3), size);
    }

    void write(int slot, int function, int register, int size, long value) {
        ports.write(0xCF8, 4, address(slot, function, register));
        ports.write(0xCFC + (register & 3), size, value);
    }

    RecordingInterruptLine gsi(int gsi) {
        return gsis.computeIfAbsent(gsi, x -> new RecordingInterruptLine());
    }

    /** A handler that answers reads with a fixed pattern and remembers the last write. */
    static final class Registers implements IoHandler {
        long lastOffset = -1;
        long lastValue;

        @Override
        public long read(long offset, int size) {
            return 0x5A;
        }

        @Override
        public void write(long offset, int size, long value) {
            lastOffset = offset;
            lastValue = value;
        }
    }
}
