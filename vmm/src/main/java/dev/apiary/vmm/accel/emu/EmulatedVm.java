package dev.apiary.vmm.accel.emu;

import dev.apiary.vmm.accel.AccelVcpu;
import dev.apiary.vmm.accel.AccelVm;
import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.chipset.Pit8254;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.vmm.device.MsiSink;
import dev.apiary.vmm.intc.InterruptControllers;
import dev.apiary.vmm.intc.LocalApic;
import dev.apiary.vmm.memory.AnonymousRam;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.MemoryLayout;
import dev.apiary.vmm.x86.GuestClock;
import dev.apiary.vmm.x86.X86Platform;
import java.util.ArrayList;
import java.util.List;

/**
 * A VM on the software CPU: guest RAM in anonymous memory, the PC's interrupt controllers and PIT in this
 * process, and one {@link EmulatedVcpu} per vCPU sharing an {@link X86Platform}.
 */
final class EmulatedVm implements AccelVm {
    private final AnonymousRam ram;
    private final GuestClock clock = new GuestClock();
    private final EmulatedBus bus;
    private final X86Platform platform;
    private final InterruptControllers intc;
    private final Pit8254 pit;
    private final List<EmulatedVcpu> vcpus = new ArrayList<>();
    /** The local APIC of the vCPU running on this thread: each vCPU sees its own at 0xFEE00000. */
    private final ThreadLocal<LocalApic> currentApic = new ThreadLocal<>();

    EmulatedVm(MemoryLayout layout, int cpus) {
        this.ram = AnonymousRam.map(layout.ramRegions());
        this.bus = new EmulatedBus(ram.memory());
        this.platform = new X86Platform(bus, clock);
        platform.warmUpTranslator();
        // Device DMA and the boot loader write guest RAM behind the CPUs' backs: decoded code there is stale.
        ram.memory().observeWrites(platform::invalidateCode);
        this.intc = new InterruptControllers(cpus, clock);
        this.pit = new Pit8254(intc.irq(0));
    }

    @Override
    public GuestMemory memory() {
        return ram.memory();
    }

    @Override
    public InterruptLine gsi(int gsi) {
        return intc.irq(gsi);
    }

    @Override
    public MsiSink msi() {
        return intc.msi();
    }

    @Override
    public IoEventRegistrar ioEvents() {
        // A doorbell write costs the software CPU no exit: devices take it through their MMIO handler.
        return IoEventRegistrar.NONE;
    }

    @Override
    public void attachPlatform(Bus ports, Bus mmio) {
        bus.attach(ports, mmio);
        intc.attach(ports, mmio);
        pit.attach(ports);
        mmio.register(MemoryLayout.LAPIC_BASE, 0x1000, "lapic", new IoHandler() {
            @Override
            public long read(long offset, int size) {
                LocalApic a = currentApic.get();
                return a == null ? -1L : a.read(offset, size);
            }

            @Override
            public void write(long offset, int size, long value) {
                LocalApic a = currentApic.get();
                if (a != null) {
                    a.write(offset, size, value);
                }
            }
        });
    }

    @Override
    public void mapReadOnly(long gpa, byte[] contents) {
        bus.mapRom(gpa, contents);
    }

    @Override
    public List<Device> platformDevices() {
        return List.of(pit);
    }

    @Override
    public AccelVcpu createVcpu(int index, int count) {
        EmulatedVcpu v = new EmulatedVcpu(platform, intc.lapic(index), index, count, currentApic);
        vcpus.add(v);
        return v;
    }

    @Override
    public void resetPlatform() {
        intc.reset();
    }

    @Override
    public void close() {
        for (EmulatedVcpu v : vcpus) {
            v.close();
            if (Boolean.getBoolean("apiary.x86.stats")) {
                System.err.println("vCPU " + vcpus.indexOf(v) + ": " + v.statistics());
            }
        }
        pit.stop();
        ram.close();
    }
}
