/**
 * The NVMe controller device model ({@link dev.apiary.vmm.nvme.NvmeController}, NVM Express Base
 * Specification 1.4): PCI function 01:08:02 with registers and doorbells in BAR0 and MSI-X in BAR4, the admin
 * command set and the NVM command set on one namespace backed by a {@link dev.apiary.vmm.block.BlockBackend},
 * queue processing on device threads (one per submission queue), shadow doorbells for ioeventfd.
 *
 * <p>May depend on {@code dev.apiary.vmm.pci}, {@code bus}, {@code device}, {@code memory} and
 * {@code block}; never on {@code kvm} or {@code machine} (the machine implements
 * {@link dev.apiary.vmm.device.IoEventRegistrar} and the MSI path with KVM). See {@code docs/nvme.md}.
 */
package dev.apiary.vmm.nvme;
