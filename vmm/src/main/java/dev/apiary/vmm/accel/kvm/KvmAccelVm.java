package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.accel.AccelVcpu;
import dev.apiary.vmm.accel.AccelVm;
import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.vmm.device.MsiSink;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.MemoryLayout;
import java.util.ArrayList;
import java.util.List;

/** A KVM VM behind the accelerator seam; the interrupt controllers and PIT are KVM's in-kernel ones. */
final class KvmAccelVm implements AccelVm {
    private final Kvm kvm;
    private final KvmVm vm;
    private final GuestMemory memory;
    private final KvmIoEvents ioEvents;
    private final List<KvmAccelVcpu> vcpus = new ArrayList<>();
    private final byte[][] initialIrqchips = new byte[3][];
    private final byte[] initialPit;

    private KvmAccelVm(Kvm kvm, KvmVm vm, GuestMemory memory) {
        this.kvm = kvm;
        this.vm = vm;
        this.memory = memory;
        this.ioEvents = new KvmIoEvents(vm);
        for (int chip = 0; chip < 3; chip++) {
            initialIrqchips[chip] = vm.irqchipState(chip);
        }
        this.initialPit = vm.pitState();
    }

    static KvmAccelVm create(Kvm kvm, MemoryLayout layout) {
        KvmVm vm = kvm.createVm();
        try {
            vm.createPlatform();
            GuestMemory memory = vm.mapRam(layout.ramRegions());
            return new KvmAccelVm(kvm, vm, memory);
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    KvmVm vm() {
        return vm;
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    @Override
    public InterruptLine gsi(int gsi) {
        return level -> vm.setIrqLine(gsi, level);
    }

    @Override
    public MsiSink msi() {
        return vm::signalMsi;
    }

    @Override
    public IoEventRegistrar ioEvents() {
        return ioEvents;
    }

    @Override
    public void attachPlatform(Bus ports, Bus mmio) {
        // PIC, IOAPIC, local APICs and PIT (with port 0x61) live in the kernel.
    }

    @Override
    public void mapReadOnly(long gpa, byte[] contents) {
        vm.mapReadOnly(gpa, contents);
    }

    @Override
    public List<Device> platformDevices() {
        return List.of();
    }

    @Override
    public AccelVcpu createVcpu(int index, int count) {
        KvmVcpu c = vm.createVcpu(index);
        c.setCpuid(CpuTopology.forVcpu(kvm.supportedCpuid(), index, count));
        KvmAccelVcpu v = new KvmAccelVcpu(c, memory);
        vcpus.add(v);
        return v;
    }

    @Override
    public void resetPlatform() {
        for (int chip = 0; chip < 3; chip++) {
            vm.setIrqchipState(initialIrqchips[chip]);
        }
        vm.setPitState(initialPit);
    }

    @Override
    public void close() {
        for (KvmAccelVcpu v : vcpus) {
            v.close();
        }
        vm.close();
    }
}
