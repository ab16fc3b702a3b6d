/**
 * The interrupt controllers of the software CPU, in userspace (on KVM the in-kernel ones are used instead):
 * one xAPIC {@link dev.apiary.vmm.intc.LocalApic} per vCPU, the {@link dev.apiary.vmm.intc.IoApic} with 24
 * pins, the cascaded 8259 pair ({@link dev.apiary.vmm.intc.Pic8259Pair}, its output on the boot CPU's LINT0
 * as ExtINT), the {@link dev.apiary.vmm.intc.ApicBus} that carries IPIs, IOAPIC and MSI messages between
 * them, and {@link dev.apiary.vmm.intc.MsiRouter} for PCI MSI/MSI-X writes.
 * {@link dev.apiary.vmm.intc.InterruptControllers} assembles them with the PC wiring the MADT and
 * {@code _PRT} describe.
 *
 * <p>May depend on {@code dev.apiary.vmm.x86} (the CPU's side of the contract: {@code LocalInterrupts},
 * {@code VcpuSignals}, {@code GuestClock}), {@code dev.apiary.vmm.bus} and {@code dev.apiary.vmm.device};
 * nothing else in the VMM.
 *
 * <p>Locking: each chip has one small lock. The order is PIT → PIC → IOAPIC → LAPIC; a LAPIC never calls
 * out (EOI broadcast, INTA, IPIs) while holding its own lock, so no cycle can form.
 */
package dev.apiary.vmm.intc;
