package dev.apiary.vmm.accel;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.vmm.device.MsiSink;
import dev.apiary.vmm.memory.GuestMemory;
import java.util.List;

/**
 * One VM on an accelerator: guest RAM, the interrupt controllers and PIT of a PC (in the kernel on KVM, in
 * this process when emulated), and the vCPUs. Interrupt methods are safe to call from any thread.
 */
public interface AccelVm extends AutoCloseable {
    GuestMemory memory();

    /**
     * The input of ISA IRQ or GSI {@code gsi} (0–15 reach the 8259 pair and the IOAPIC, 16–23 the IOAPIC only).
     * One input per GSI: the machine makes it wired-OR for devices that share a line.
     */
    InterruptLine gsi(int gsi);

    /** Message-signalled interrupts from PCI devices. */
    MsiSink msi();

    /** How devices have doorbell writes signalled without going through a vCPU's exit handler. */
    IoEventRegistrar ioEvents();

    /**
     * Puts what the accelerator emulates in userspace on the machine's buses (the emulated PIC, PIT, IOAPIC and
     * local APICs); nothing on KVM, whose chips are in the kernel. Called once, after the chipset is attached.
     */
    void attachPlatform(Bus ports, Bus mmio);

    /** Devices the accelerator added to the platform (the emulated PIT), for the machine's inventory. */
    List<Device> platformDevices();

    /**
     * Maps read-only memory at {@code gpa} (firmware code in a read-only flash), its size a multiple of 4 KiB and
     * below 4 GiB, not overlapping RAM: the guest reads and executes it, and its contents never change. Guest
     * writes there are not stored; they reach the MMIO bus, where the machine maps a handler for the same range
     * (which also answers reads wherever the accelerator sends them there). Called before the vCPUs first run.
     */
    void mapReadOnly(long gpa, byte[] contents);

    /** Creates vCPU {@code index} (0 is the boot processor) of {@code count}. */
    AccelVcpu createVcpu(int index, int count);

    /** Returns the interrupt controllers and the PIT to their state at creation (a machine reset). */
    void resetPlatform();

    @Override
    void close();
}
