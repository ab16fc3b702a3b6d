package dev.apiary.vmm.intc;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.MsiSink;
import dev.apiary.vmm.x86.GuestClock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The emulated interrupt controllers of one VM, wired as the MADT and {@code _PRT} describe a PC: one
 * {@link LocalApic} per vCPU (APIC ID = vCPU index, vCPU 0 the BSP), one {@link IoApic} (ID = vCPU count,
 * at 0xFEC00000, GSI base 0), the {@link Pic8259Pair} with its INT on the BSP's LINT0, and MSI routing.
 *
 * <p>Lines ({@link #irq(int)}), numbered as KVM's GSIs are: ISA IRQ n (0–15) drives PIC input n and IOAPIC
 * pin n, except IRQ 0 which reaches pin 2 (the MADT's interrupt source override) and IRQ 2 (the cascade,
 * wired to nothing, as on KVM's default routing). GSIs 16–23 (PCI INTx through {@code _PRT}) drive IOAPIC
 * pins 16–23 only, active low as ACPI defines a {@code _PRT} GSI: {@code set(true)} asserts the line, which
 * pulls the pin low. Each line is one wire: share it through {@code SharedInterruptLine}.
 *
 * <p>The LAPIC pages are not mapped here: an access at the APIC base from vCPU i belongs to
 * {@link #lapic(int) lapic(i)}, offsets 0–0xFFF, which the accelerator routes.
 */
public final class InterruptControllers implements Device {
    /** IOAPIC MMIO window (MemoryLayout.IOAPIC_BASE). */
    public static final long IOAPIC_BASE = 0xFEC0_0000L;
    public static final long IOAPIC_SIZE = 0x1000;
    public static final int GSI_COUNT = IoApic.PINS;

    private final ApicBus bus = new ApicBus();
    private final List<LocalApic> lapics = new ArrayList<>();
    private final IoApic ioApic;
    private final Pic8259Pair pic = new Pic8259Pair();
    private final MsiRouter msi = new MsiRouter(bus);
    private final InterruptLine[] lines = new InterruptLine[GSI_COUNT];

    /** @param cpus vCPUs (1–254) */
    public InterruptControllers(int cpus, GuestClock clock) {
        this(cpus, clock, System::nanoTime);
    }

    /** As above with an injected host clock for the LAPIC timers (tests). */
    public InterruptControllers(int cpus, GuestClock clock, LongSupplier nanoTime) {
        if (cpus < 1 || cpus > 0xFE) {
            throw new IllegalArgumentException("1-254 vCPUs with xAPIC IDs: " + cpus);
        }
        for (int i = 0; i < cpus; i++) {
            LocalApic lapic = new LocalApic(i, i == 0, clock, bus, nanoTime);
            lapic.connectExtInt(pic::acknowledge);
            lapics.add(lapic);
        }
        ioApic = new IoApic(cpus, bus);
        pic.connectOutput(lapics.get(0).lint0());
        for (int gsi = 0; gsi < GSI_COUNT; gsi++) {
            lines[gsi] = wire(gsi);
        }
    }

    private InterruptLine wire(int gsi) {
        if (gsi >= 16) {
            InterruptLine pin = ioApic.pin(gsi);
            pin.set(true); // an idle active-low PCI line sits high
            return asserted -> pin.set(!asserted);
        }
        if (gsi == 2) {
            return level -> { };
        }
        InterruptLine picInput = pic.input(gsi);
        InterruptLine pin = ioApic.pin(gsi == 0 ? 2 : gsi);
        return level -> {
            picInput.set(level);
            pin.set(level);
        };
    }

    /** The wire of ISA IRQ / GSI {@code gsi} (0–23); {@code set(true)} asserts it. */
    public InterruptLine irq(int gsi) {
        if (gsi < 0 || gsi >= GSI_COUNT) {
            throw new IllegalArgumentException("GSI out of range: " + gsi);
        }
        return lines[gsi];
    }

    public MsiSink msi() {
        return msi;
    }

    public MsiRouter msiRouter() {
        return msi;
    }

    public int cpus() {
        return lapics.size();
    }

    /** vCPU {@code index}'s local APIC: its {@code LocalInterrupts} and its register page (offsets 0–0xFFF). */
    public LocalApic lapic(int index) {
        return lapics.get(index);
    }

    public IoApic ioApic() {
        return ioApic;
    }

    public Pic8259Pair pic() {
        return pic;
    }

    public ApicBus apicBus() {
        return bus;
    }

    /** Maps the PIC and ELCR ports and the IOAPIC window. */
    public void attach(Bus ports, Bus mmio) {
        pic.attach(ports);
        mmio.register(IOAPIC_BASE, IOAPIC_SIZE, "ioapic", ioApic);
    }

    /** The IOAPIC's MMIO window, for a machine that maps it itself at {@link #IOAPIC_BASE}. */
    public IoHandler ioApicMmio() {
        return ioApic;
    }

    @Override
    public String name() {
        return "intc";
    }

    /** Every chip to its power-on state (the wires keep their levels). */
    @Override
    public void reset() {
        pic.reset();
        ioApic.reset();
        for (LocalApic l : lapics) {
            l.reset();
        }
    }

    /** LINT0 ExtINT and LINT1 NMI on every LAPIC, as firmware leaves them (and {@code VcpuSetup} on KVM). */
    public void virtualWire() {
        for (LocalApic l : lapics) {
            l.virtualWire();
        }
    }
}
