/**
 * Networking: the virtio-net device ({@link dev.apiary.vmm.net.VirtioNet}) on the virtio PCI transport, and
 * its host side ({@link dev.apiary.vmm.net.NetBackend}: a TAP device, {@link dev.apiary.vmm.net.Tap}).
 *
 * <p>May depend on {@code virtio}, {@code pci}, {@code device}, {@code memory} and {@code os}; never on an
 * accelerator or {@code machine}. See {@code docs/networking.md}.
 */
package dev.apiary.vmm.net;
