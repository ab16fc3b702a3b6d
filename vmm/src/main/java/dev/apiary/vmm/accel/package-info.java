/**
 * The accelerator seam (DESIGN.md, "Accelerators"): {@link dev.apiary.vmm.accel.Accelerator} →
 * {@link dev.apiary.vmm.accel.AccelVm} → {@link dev.apiary.vmm.accel.AccelVcpu}, with KVM in {@code accel.kvm}
 * and the software CPU in {@code accel.emu}. Devices, buses, PCI, NVMe, boot loaders and the machine depend
 * only on these interfaces; nothing outside {@code accel.kvm} imports a KVM type (an ArchUnit test checks it).
 */
package dev.apiary.vmm.accel;
