/**
 * The PC's system flash for UEFI firmware boot: the firmware's code, read-only below 4 GiB (the accelerator
 * maps it as read-only memory), and its variable store, a CFI flash written through to the VM's own copy of
 * the store (docs/boot.md, "Firmware boot"; docs/devices.md, "System flash").
 *
 * <p>May depend on {@code dev.apiary.vmm.bus}, {@code dev.apiary.vmm.device} and {@code dev.apiary.vmm.boot}
 * (for {@link dev.apiary.vmm.boot.BootImageException}); never on an accelerator or the software CPU.
 */
package dev.apiary.vmm.firmware;
