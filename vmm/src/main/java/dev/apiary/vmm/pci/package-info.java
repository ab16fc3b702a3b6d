/**
 * PCI bus 0: configuration mechanism #1 ({@link dev.apiary.vmm.pci.PciBus}), the generic type-0
 * configuration header written once for every device ({@link dev.apiary.vmm.pci.PciFunction}, declared
 * through its builder: identity, BARs, capabilities, MSI-X, device-specific registers), BAR mapping on the
 * machine's port and MMIO buses, INTx routing to GSIs ({@link dev.apiary.vmm.pci.PciInterruptRouting}) and
 * MSI-X ({@link dev.apiary.vmm.pci.Msix}).
 *
 * <p>May depend on {@code dev.apiary.vmm.bus} and {@code dev.apiary.vmm.device} only. Device models
 * ({@code nvme}, {@code virtio}, {@code chipset}) depend on this package, never the other way round; the
 * {@code machine} package wires a {@link dev.apiary.vmm.pci.PciBus} to the real buses and interrupt
 * controller.
 */
package dev.apiary.vmm.pci;
