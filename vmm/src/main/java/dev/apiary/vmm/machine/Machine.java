package dev.apiary.vmm.machine;

import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.boot.BootImageException;
import dev.apiary.vmm.boot.BootState;
import dev.apiary.vmm.boot.BzImage;
import dev.apiary.vmm.boot.E820Map;
import dev.apiary.vmm.boot.Initrd;
import dev.apiary.vmm.boot.LinuxLoader;
import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.cpu.Vcpu;
import dev.apiary.vmm.cpu.VcpuSetup;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.SharedInterruptLine;
import dev.apiary.vmm.device.SystemControl;
import dev.apiary.vmm.kvm.CpuidEntries;
import dev.apiary.vmm.kvm.Kvm;
import dev.apiary.vmm.kvm.KvmAbi;
import dev.apiary.vmm.kvm.KvmVcpu;
import dev.apiary.vmm.kvm.KvmVm;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.MemoryLayout;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A PC built from a {@link MachineConfig}: KVM VM with in-kernel interrupt controllers and PIT, guest RAM,
 * the chipset and devices on their buses, ACPI tables, the kernel loaded, one thread per vCPU. {@link #run()}
 * runs the guest until it powers off, fails or is stopped; a guest reset (reboot, triple fault) resets devices
 * and vCPUs and boots the same kernel again, unless the reboot policy says to stop.
 */
public final class Machine implements AutoCloseable, SystemControl {
    private static final System.Logger LOG = System.getLogger(Machine.class.getName());
    private static final String HARD_RESET = "control API hard reset";

    private final MachineConfig config;
    private final Kvm kvm;
    private final KvmVm vm;
    private final MemoryLayout layout;
    private final GuestMemory memory;
    private final Bus ports = new Bus("port");
    private final Bus mmio = new Bus("mmio");
    private final Chipset chipset;
    private final List<Device> inventory = new ArrayList<>();
    private final SerialConsole console = new SerialConsole();
    private final java.util.Map<Integer, SharedInterruptLine> irqLines = new java.util.HashMap<>();
    private final BzImage kernel;
    private final Optional<Initrd> initrd;
    private final List<KvmVcpu> kvmVcpus = new ArrayList<>();
    private final List<byte[]> initialLapics = new ArrayList<>();
    private final byte[][] initialIrqchips = new byte[3][];
    private final byte[] initialPit;
    private final long createdNanos = System.nanoTime();
    private volatile CompletableFuture<GuestStop> stop = new CompletableFuture<>();
    private volatile List<Vcpu> running = List.of();
    private volatile boolean paused;
    private int boots;
    private long firstRunNanos;

    private Machine(MachineConfig config) throws BootImageException {
        this.config = config;
        this.kernel = BzImage.read(config.kernel());
        this.initrd = config.initrd() == null ? Optional.empty() : Optional.of(Initrd.of(config.initrd()));
        this.layout = MemoryLayout.forRam(config.memoryBytes());
        this.kvm = Kvm.open();
        if (config.cpus() > kvm.maxVcpus()) {
            kvm.close();
            throw new BootImageException("spec.cpus: " + config.cpus() + " vCPUs is more than this host's KVM allows ("
                    + kvm.maxVcpus() + ")");
        }
        KvmVm v = null;
        try {
            v = kvm.createVm();
            v.createPlatform();
            this.vm = v;
            this.memory = vm.mapRam(layout.ramRegions());
            this.chipset = Chipset.assemble(this);
            try {
                chipset.attachDisks(this, new KvmIoEvents(vm));
            } catch (java.io.IOException e) {
                throw new BootImageException("disk image: " + e.getMessage());
            }
            inventory.addAll(chipset.devices());
            CpuidEntries cpuid = kvm.supportedCpuid();
            for (int i = 0; i < config.cpus(); i++) {
                KvmVcpu c = vm.createVcpu(i);
                c.setCpuid(cpuidFor(cpuid, i));
                kvmVcpus.add(c);
            }
            // Power-on state of the in-kernel chips, restored on every reset.
            for (int chip = 0; chip < 3; chip++) {
                initialIrqchips[chip] = vm.irqchipState(chip);
            }
            this.initialPit = vm.pitState();
            for (KvmVcpu c : kvmVcpus) {
                VcpuSetup.powerOn(c);
                initialLapics.add(c.getLapic());
            }
            loadGuest();
        } catch (BootImageException | RuntimeException e) {
            // Release what was already set up: device threads and open disk images, vCPUs, the VM.
            if (chipsetOrNull() != null) {
                for (Device d : chipsetOrNull().devices()) {
                    try {
                        d.stop();
                    } catch (RuntimeException ignored) {
                        // best effort on the way out
                    }
                }
            }
            for (KvmVcpu c : kvmVcpus) {
                c.close();
            }
            if (v != null) {
                v.close();
            }
            kvm.close();
            throw e;
        }
    }

    private Chipset chipsetOrNull() {
        return chipset;
    }

    private CpuidEntries cpuidFor(CpuidEntries supported, int index) {
        return dev.apiary.vmm.cpu.CpuTopology.forVcpu(supported, index, config.cpus());
    }

    /** Builds the machine (the kernel is read and checked, RAM allocated, devices attached, the guest loaded). */
    public static Machine create(MachineConfig config) throws BootImageException {
        return new Machine(config);
    }

    public MachineConfig config() {
        return config;
    }

    public GuestMemory memory() {
        return memory;
    }

    public MemoryLayout layout() {
        return layout;
    }

    public Bus ports() {
        return ports;
    }

    public Bus mmio() {
        return mmio;
    }

    KvmVm vm() {
        return vm;
    }

    public SerialConsole serialConsole() {
        return console;
    }

    public List<Device> inventory() {
        return List.copyOf(inventory);
    }

    public Chipset chipset() {
        return chipset;
    }

    /**
     * A new input onto an ISA IRQ or GSI of the in-kernel PIC/IOAPIC. Inputs onto one line are wired-OR
     * (COM1 and COM3 share IRQ 4), so one device lowering it cannot hide another's interrupt.
     */
    synchronized InterruptLine irqLine(int gsi) {
        return irqLines.computeIfAbsent(gsi, g -> new SharedInterruptLine(level -> vm.setIrqLine(g, level))).newSource();
    }

    /** Writes the kernel, initrd, command line, e820 map and ACPI tables and sets the boot vCPU's registers. */
    private void loadGuest() throws BootImageException {
        long rsdp = chipset.writeAcpiTables(memory);
        LinuxLoader.Request req = LinuxLoader.Request.of(kernel, config.cmdline()).withAcpiRsdp(rsdp);
        if (initrd.isPresent()) {
            req = req.withInitrd(initrd.get());
        }
        BootState boot = LinuxLoader.load(memory, layout, E820Map.of(layout), req);
        VcpuSetup.enter(kvmVcpus.get(0), boot);
        for (int i = 1; i < kvmVcpus.size(); i++) {
            // Application processors wait for INIT/SIPI from the boot processor, as on a PC.
            kvmVcpus.get(i).setMpState(KvmAbi.KVM_MP_STATE_UNINITIALIZED);
        }
    }

    /** Runs the guest until it powers off, fails, or {@link #stop} is called; resets are handled inside. */
    public GuestStop run() {
        while (true) {
            GuestStop s = runOnce();
            boolean isReset = s instanceof GuestStop.Reset || s instanceof GuestStop.TripleFault;
            boolean forced = s instanceof GuestStop.Reset r && r.source().equals(HARD_RESET);
            if (!isReset || (config.rebootPolicy() == RebootPolicy.Stop && !forced)) {
                return s;
            }
            LOG.log(Level.INFO, () -> config.name() + ": " + s.describe() + ", booting again");
            try {
                reset();
            } catch (BootImageException | RuntimeException e) {
                return new GuestStop.HostError("reset failed: " + e.getMessage());
            }
        }
    }

    private GuestStop runOnce() {
        paused = false;
        if (boots++ == 0) {
            firstRunNanos = System.nanoTime();
            for (Device d : inventory) {
                d.start();
            }
        }
        List<Vcpu> threads = new ArrayList<>();
        for (KvmVcpu c : kvmVcpus) {
            threads.add(new Vcpu(c, ports, mmio, memory, HostFacts::hostEmulatesKernelMode, this::guestStopped));
        }
        running = threads;
        threads.forEach(Vcpu::start);
        GuestStop s;
        try {
            s = stop.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            s = new GuestStop.Stopped("interrupt");
        } catch (ExecutionException e) {
            s = new GuestStop.HostError(String.valueOf(e.getCause()));
        }
        for (Vcpu v : threads) {
            v.kick();
        }
        for (Vcpu v : threads) {
            try {
                v.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        running = List.of();
        return s;
    }

    private void reset() throws BootImageException {
        stop = new CompletableFuture<>();
        for (Device d : inventory) {
            d.reset();
        }
        for (int chip = 0; chip < 3; chip++) {
            vm.setIrqchipState(initialIrqchips[chip]);
        }
        vm.setPitState(initialPit);
        for (int i = 0; i < kvmVcpus.size(); i++) {
            KvmVcpu c = kvmVcpus.get(i);
            c.setLapic(initialLapics.get(i));
            VcpuSetup.powerOn(c);
            c.setMpState(KvmAbi.KVM_MP_STATE_RUNNABLE);
        }
        loadGuest();
    }

    private void guestStopped(GuestStop s) {
        stop.complete(s);
    }

    /** Stops the guest (from any thread); {@link #run()} returns {@link GuestStop.Stopped}. */
    public void stop(String by) {
        stop.complete(new GuestStop.Stopped(by));
    }

    @Override
    public void requestReset(String source) {
        stop.complete(new GuestStop.Reset(source));
    }

    @Override
    public void requestPowerOff(String source) {
        stop.complete(new GuestStop.PowerOff(source));
    }

    /** A hard reset from outside the guest (control API): always boots again, whatever the reboot policy. */
    public void hardReset() {
        stop.complete(new GuestStop.Reset(HARD_RESET));
    }

    /** Injects an NMI into every vCPU (a debugging aid: Linux prints an NMI report or panics, as configured). */
    public void nmi() {
        for (Vcpu v : running) {
            v.post(KvmVcpu::nmi);
        }
    }

    /** Presses the ACPI power button: a guest with ACPI support shuts down cleanly. */
    public void pressPowerButton() {
        chipset.pressPowerButton();
    }

    /**
     * Pauses the guest: every vCPU leaves KVM_RUN and its thread ends, then every device stops working on its
     * own threads. Guest memory and device state stay as they are. False if not running or already paused.
     */
    public synchronized boolean pause() {
        List<Vcpu> vs = running;
        if (paused || vs.isEmpty()) {
            return false;
        }
        paused = true;
        for (Vcpu v : vs) {
            v.kick();
        }
        for (Vcpu v : vs) {
            try {
                v.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Device d : inventory) {
            d.pause();
        }
        return true;
    }

    /** Resumes a paused guest where it stopped. False if it was not paused. */
    public synchronized boolean resume() {
        List<Vcpu> vs = running;
        if (!paused || vs.isEmpty()) {
            return false;
        }
        for (Device d : inventory) {
            d.resume();
        }
        paused = false;
        for (Vcpu v : vs) {
            v.start();
        }
        return true;
    }

    public boolean isPaused() {
        return paused;
    }

    /** Whether vCPU threads are running the guest now. */
    public boolean isRunning() {
        return !running.isEmpty();
    }

    /** How many times the guest has booted (1 after the first boot, 2 after one reset, …). */
    public int boots() {
        return boots;
    }

    public String timings() {
        return String.format("machine built in %.1f ms, %d boot(s)", (firstRunNanos - createdNanos) / 1e6, boots);
    }

    @Override
    public void close() {
        stop("close");
        for (Device d : inventory) {
            try {
                d.stop();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "stopping " + d.name() + ": " + e);
            }
        }
        console.close();
        for (KvmVcpu c : kvmVcpus) {
            c.close();
        }
        vm.close();
        kvm.close();
    }
}
