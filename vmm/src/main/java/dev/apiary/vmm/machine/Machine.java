package dev.apiary.vmm.machine;

import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.boot.BootImageException;
import dev.apiary.vmm.boot.BootState;
import dev.apiary.vmm.boot.BzImage;
import dev.apiary.vmm.boot.E820Map;
import dev.apiary.vmm.boot.Initrd;
import dev.apiary.vmm.boot.LinuxLoader;
import dev.apiary.vmm.boot.ScreenInfo;
import dev.apiary.vmm.firmware.SystemFlash;
import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.cpu.Vcpu;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.SharedInterruptLine;
import dev.apiary.vmm.device.SystemControl;
import dev.apiary.vmm.display.GuestPixelFormat;
import dev.apiary.vmm.display.Surface;
import dev.apiary.vmm.accel.AccelVcpu;
import dev.apiary.vmm.accel.AccelVm;
import dev.apiary.vmm.accel.Accelerator;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.MemoryLayout;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A PC built from a {@link MachineConfig} on an accelerator (KVM, or the software CPU): guest RAM, the
 * interrupt controllers and PIT,
 * the chipset and devices on their buses, ACPI tables, the kernel loaded, one thread per vCPU. {@link #run()}
 * runs the guest until it powers off, fails or is stopped; a guest reset (reboot, triple fault) resets devices
 * and vCPUs and boots the same kernel again, unless the reboot policy says to stop.
 */
public final class Machine implements AutoCloseable, SystemControl {
    private static final System.Logger LOG = System.getLogger(Machine.class.getName());
    private static final String HARD_RESET = "control API hard reset";

    private final MachineConfig config;
    private final Accelerator accel;
    private final String acceleratorNote;
    private final AccelVm vm;
    private final MemoryLayout layout;
    /** The guest's memory map: the layout's, less a linear framebuffer at the top of low RAM. */
    private final E820Map e820;
    /** The direct-boot linear framebuffer (display and a kernel), or null. */
    private final ScreenInfo screen;
    private final GuestMemory memory;
    private final Bus ports = new Bus("port");
    private final Bus mmio = new Bus("mmio");
    private final Chipset chipset;
    private final List<Device> inventory = new ArrayList<>();
    private final SerialConsole console = new SerialConsole();
    private final java.util.Map<Integer, SharedInterruptLine> irqLines = new java.util.HashMap<>();
    /** The kernel for a direct boot; null for firmware boot. */
    private final BzImage kernel;
    private final Optional<Initrd> initrd;
    /** The system flash for firmware boot; null for a direct kernel boot. */
    private final SystemFlash flash;
    private final List<AccelVcpu> vcpus = new ArrayList<>();
    private final long createdNanos = System.nanoTime();
    private volatile CompletableFuture<GuestStop> stop = new CompletableFuture<>();
    private volatile List<Vcpu> running = List.of();
    private volatile boolean paused;
    /** The first stop asked for; sticky, so that a stop arriving while the guest resets is not lost. */
    private volatile GuestStop.Stopped stopRequest;
    private int boots;
    private long firstRunNanos;

    private Machine(MachineConfig config) throws BootImageException {
        this.config = config;
        MachineConfig.Firmware fw = config.firmware();
        if (fw != null) {
            this.kernel = null;
            this.initrd = Optional.empty();
            this.flash = SystemFlash.open(fw.code(), fw.varsTemplate(), fw.varsStore());
        } else {
            this.kernel = BzImage.read(config.kernel());
            this.initrd = config.initrd() == null ? Optional.empty() : Optional.of(Initrd.of(config.initrd()));
            this.flash = null;
        }
        this.layout = MemoryLayout.forRam(config.memoryBytes());
        this.screen = linearFramebuffer(config, layout);
        this.e820 = screen == null ? E820Map.of(layout)
                : E820Map.of(layout).withTopOfLowRamReserved(layout.lowRamBytes() - screen.base());
        AcceleratorChoice choice = AcceleratorChoice.open(config.accelerator());
        this.accel = choice.accelerator();
        this.acceleratorNote = choice.note();
        if (config.cpus() > accel.maxVcpus()) {
            accel.close();
            throw new BootImageException("spec.cpus: " + config.cpus() + " vCPUs is more than this host's "
                    + accel.name() + " allows (" + accel.maxVcpus() + ")");
        }
        AccelVm v = null;
        try {
            v = accel.createVm(layout, config.cpus());
            this.vm = v;
            this.memory = vm.memory();
            this.chipset = Chipset.assemble(this);
            try {
                chipset.attachDisks(this, vm.ioEvents());
            } catch (java.io.IOException e) {
                throw new BootImageException("disk image: " + e.getMessage());
            }
            try {
                chipset.attachNetworks(this);
            } catch (java.io.IOException e) {
                throw new BootImageException("network: " + e.getMessage());
            }
            if (flash != null) {
                vm.mapReadOnly(flash.codeBase(), flash.code());
                flash.attach(mmio);
            }
            if (screen != null) {
                chipset.framebuffer().orElseThrow().setBootSurface(new Surface(screen.base(),
                        GuestPixelFormat.XRGB8888, screen.width(), screen.height(), screen.lineLength()));
            }
            vm.attachPlatform(ports, mmio);
            inventory.addAll(chipset.devices());
            if (flash != null) {
                inventory.add(flash.vars());
            }
            inventory.addAll(vm.platformDevices());
            for (int i = 0; i < config.cpus(); i++) {
                AccelVcpu c = vm.createVcpu(i, config.cpus());
                vcpus.add(c);
            }
            for (AccelVcpu c : vcpus) {
                c.powerOn();
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
            if (v != null) {
                v.close();
            }
            accel.close();
            throw e;
        }
    }

    /** The largest share of low RAM a linear framebuffer may take. */
    private static final int MAX_FRAMEBUFFER_SHARE = 4;

    /**
     * For a directly booted kernel with a display: a linear framebuffer of the display's size, 32 bits per pixel,
     * carved from the top of low RAM (1 MiB aligned; e820 reserves it, so the kernel maps it as a device and
     * vesafb draws there) — RAM, so KVM needs no memory slot of its own and both accelerators write it directly.
     */
    private static ScreenInfo linearFramebuffer(MachineConfig config, MemoryLayout layout) throws BootImageException {
        MachineConfig.Display d = config.display();
        if (d == null || config.kernel() == null) {
            return null;
        }
        long size = ScreenInfo.bytesFor(d.width(), d.height());
        long top = layout.lowRamBytes();
        if (size > top / MAX_FRAMEBUFFER_SHARE) {
            throw new BootImageException(String.format("spec.display: a %dx%d screen needs %d MiB of framebuffer at"
                    + " the top of guest RAM, more than a quarter of the VM's %d MiB below 4 GiB: give the VM more"
                    + " memory or a smaller display", d.width(), d.height(), (size + (1 << 20) - 1) >> 20, top >> 20));
        }
        long base = (top - size) & -(1L << 20);
        return new ScreenInfo(base, d.width(), d.height(), d.width() * ScreenInfo.BYTES_PER_PIXEL, size);
    }

    /** The memory map the guest is given (zero page and fw_cfg {@code etc/e820}). */
    public E820Map e820() {
        return e820;
    }

    private Chipset chipsetOrNull() {
        return chipset;
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

    AccelVm vm() {
        return vm;
    }

    /** What runs the guest: {@code KVM} or {@code Emulated}. */
    public String accelerator() {
        return accel.name();
    }

    /** The accelerator's verdict on full guests (null: not known yet). */
    public Boolean fullGuests() {
        return accel.fullGuests();
    }

    /** Why this accelerator was chosen when the manifest said Auto and KVM was not usable; else null. */
    public String acceleratorNote() {
        return acceleratorNote;
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
        return irqLines.computeIfAbsent(gsi, g -> new SharedInterruptLine(vm.gsi(g))).newSource();
    }

    /**
     * Direct boot: writes the kernel, initrd, command line, e820 map and ACPI tables and sets the boot vCPU's
     * registers. Firmware boot: the boot vCPU starts at the reset vector in the flash, which finds everything
     * else through fw_cfg.
     */
    private void loadGuest() throws BootImageException {
        if (flash != null) {
            vcpus.get(0).enterResetVector();
            for (int i = 1; i < vcpus.size(); i++) {
                vcpus.get(i).waitForStartup();
            }
            return;
        }
        long rsdp = chipset.writeAcpiTables(memory);
        LinuxLoader.Request req = LinuxLoader.Request.of(kernel, config.cmdline()).withAcpiRsdp(rsdp);
        if (initrd.isPresent()) {
            req = req.withInitrd(initrd.get());
        }
        if (screen != null) {
            req = req.withScreen(screen);
        }
        BootState boot = LinuxLoader.load(memory, layout, e820, req);
        vcpus.get(0).enter(boot);
        for (int i = 1; i < vcpus.size(); i++) {
            // Application processors wait for INIT/SIPI from the boot processor, as on a PC.
            vcpus.get(i).waitForStartup();
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
            if (stopRequest != null) {
                // Asked to stop while the guest was resetting: the stop wins over booting again.
                return stopRequest;
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
        for (AccelVcpu c : vcpus) {
            threads.add(new Vcpu(c, ports, mmio, this::guestStopped));
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
        if (stopRequest != null) {
            // stop() may have completed the previous future just before it was replaced.
            stop.complete(stopRequest);
        }
        for (Device d : inventory) {
            d.reset();
        }
        vm.resetPlatform();
        for (AccelVcpu c : vcpus) {
            c.powerOn();
        }
        loadGuest();
    }

    private void guestStopped(GuestStop s) {
        stop.complete(s);
    }

    /** Stops the guest (from any thread); {@link #run()} returns {@link GuestStop.Stopped}. */
    public void stop(String by) {
        GuestStop.Stopped s = new GuestStop.Stopped(by);
        if (stopRequest == null) {
            stopRequest = s; // two racing stops: either one is a fine answer
        }
        stop.complete(s);
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
            v.accel().nmi();
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
        vm.close();
        accel.close();
    }
}
