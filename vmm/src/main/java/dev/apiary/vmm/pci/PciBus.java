package dev.apiary.vmm.pci;

import dev.apiary.vmm.device.SharedInterruptLine;

import static dev.apiary.vmm.pci.PciRegs.CONFIG_ADDRESS_ENABLE;
import static dev.apiary.vmm.pci.PciRegs.CONFIG_ADDRESS_PORT;
import static dev.apiary.vmm.pci.PciRegs.CONFIG_DATA_PORT;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.MsiSink;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * PCI bus 0 and configuration mechanism #1 (PCI LB 3.0 §3.2.2.3.2): CONFIG_ADDRESS at 0xCF8 (DWORD accesses
 * only; bit 31 enables, bits 23:16 bus, 15:11 device, 10:8 function, 7:2 register) and CONFIG_DATA at
 * 0xCFC–0xCFF (byte, word or DWORD accesses at the matching offset of the selected DWORD).
 *
 * <p>Wiring: map {@link #configAddressHandler()} at 0xCF8 with length 1 — a DWORD access starting at 0xCF8
 * reaches it, and 0xCF9 stays free for the reset control register — and {@link #configDataHandler()} at
 * 0xCFC with length 4; {@link #mapConfigPorts()} does both. Functions are attached at (slot, function); an
 * absent function, another bus number or a disabled CONFIG_ADDRESS reads all ones and ignores writes.
 *
 * <p>INTx pins are wired-OR per GSI ({@link PciInterruptRouting}), so functions sharing a GSI cannot hide
 * each other's interrupts. {@link #reset()} returns every attached function's configuration space to its
 * power-on state (BARs unmapped); a device resets its own internal state.
 */
public final class PciBus implements Device {
    private static final int ADDRESS_WRITABLE = CONFIG_ADDRESS_ENABLE | 0x00FF_FFFC;

    private final Bus portBus;
    private final Bus mmioBus;
    private final IntFunction<InterruptLine> gsiLines;
    private final MsiSink msiSink;
    private final PciFunction[] functions = new PciFunction[32 * 8];
    private final Map<Integer, SharedInterruptLine> sharedLines = new HashMap<>();
    private final IoHandler addressHandler = new AddressHandler();
    private final IoHandler dataHandler = new DataHandler();
    private int configAddress;

    /**
     * @param portBus  where I/O BARs are mapped (and the config ports, with {@link #mapConfigPorts()})
     * @param mmioBus  where memory BARs are mapped
     * @param gsiLines the interrupt controller input for a GSI (16–19 are used)
     * @param msiSink  where MSI-X messages go
     */
    public PciBus(Bus portBus, Bus mmioBus, IntFunction<InterruptLine> gsiLines, MsiSink msiSink) {
        this.portBus = portBus;
        this.mmioBus = mmioBus;
        this.gsiLines = gsiLines;
        this.msiSink = msiSink;
    }

    @Override
    public String name() {
        return "pci-bus-0";
    }

    /** Puts a function at 0:slot.function and connects its BARs, INTx pin and MSI-X. */
    public synchronized void attach(int slot, int function, PciFunction f) {
        PciAddress address = new PciAddress(0, slot, function);
        int index = slot * 8 + function;
        if (functions[index] != null) {
            throw new IllegalStateException("PCI " + address + " is taken");
        }
        InterruptLine intx = null;
        if (f.interruptPin() != 0) {
            int gsi = PciInterruptRouting.gsi(slot, f.interruptPin());
            intx = sharedLines.computeIfAbsent(gsi, g -> new SharedInterruptLine(gsiLines.apply(g))).newSource();
        }
        f.attach(address, portBus, mmioBus, intx, msiSink);
        functions[index] = f;
    }

    public synchronized Optional<PciFunction> function(int slot, int function) {
        if (slot < 0 || slot > 31 || function < 0 || function > 7) {
            return Optional.empty();
        }
        return Optional.ofNullable(functions[slot * 8 + function]);
    }

    /** The CONFIG_ADDRESS port (map at 0xCF8, length 1). */
    public IoHandler configAddressHandler() {
        return addressHandler;
    }

    /** The CONFIG_DATA ports (map at 0xCFC, length 4). */
    public IoHandler configDataHandler() {
        return dataHandler;
    }

    /** Maps both configuration ports on the port bus. */
    public void mapConfigPorts() {
        portBus.register(CONFIG_ADDRESS_PORT, 1, "pci-config-address", addressHandler);
        portBus.register(CONFIG_DATA_PORT, 4, "pci-config-data", dataHandler);
    }

    @Override
    public void reset() {
        PciFunction[] snapshot;
        synchronized (this) {
            configAddress = 0;
            snapshot = functions.clone();
        }
        for (PciFunction f : snapshot) {
            if (f != null) {
                f.reset();
            }
        }
    }

    /** The function CONFIG_ADDRESS selects, or null (disabled, other bus, absent). */
    private synchronized PciFunction selected() {
        if ((configAddress & CONFIG_ADDRESS_ENABLE) == 0 || ((configAddress >>> 16) & 0xFF) != 0) {
            return null;
        }
        return functions[(configAddress >>> 8) & 0xFF];
    }

    private synchronized int selectedRegister() {
        return configAddress & 0xFC;
    }

    private final class AddressHandler implements IoHandler {
        @Override
        public long read(long offset, int size) {
            if (offset != 0 || size != 4) {
                return (1L << (8 * Math.min(size, 4))) - 1;
            }
            synchronized (PciBus.this) {
                return configAddress & 0xFFFF_FFFFL;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            // Only a DWORD write at 0xCF8 is CONFIG_ADDRESS; byte and word accesses are other I/O (§3.2.2.3.2).
            if (offset != 0 || size != 4) {
                return;
            }
            synchronized (PciBus.this) {
                configAddress = (int) value & ADDRESS_WRITABLE;
            }
        }
    }

    private final class DataHandler implements IoHandler {
        @Override
        public long read(long offset, int size) {
            long ones = (1L << (8 * Math.min(size, 4))) - 1;
            PciFunction f;
            int register;
            synchronized (PciBus.this) {
                f = selected();
                register = selectedRegister();
            }
            if (f == null || !fits(offset, size)) {
                return ones;
            }
            return f.readConfig(register + (int) offset, size);
        }

        @Override
        public void write(long offset, int size, long value) {
            PciFunction f;
            int register;
            synchronized (PciBus.this) {
                f = selected();
                register = selectedRegister();
            }
            if (f != null && fits(offset, size)) {
                f.writeConfig(register + (int) offset, size, value);
            }
        }

        private boolean fits(long offset, int size) {
            return (size == 1 || size == 2 || size == 4) && offset >= 0 && offset + size <= 4;
        }
    }
}
