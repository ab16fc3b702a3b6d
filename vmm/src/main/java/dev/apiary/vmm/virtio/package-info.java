/**
 * The virtio 1.x modern PCI transport, written once for every virtio device ({@link
 * dev.apiary.vmm.virtio.VirtioPciTransport}), and split virtqueues in guest memory ({@link
 * dev.apiary.vmm.virtio.Virtqueue}) with indirect descriptors and event index. A device type implements
 * {@link dev.apiary.vmm.virtio.VirtioDevice}. Specification: Virtual I/O Device (VIRTIO) Version 1.2,
 * cited as "virtio 1.2 §x.y".
 *
 * <p>May depend on {@code pci}, {@code bus}, {@code device} and {@code memory}; never on an accelerator or
 * {@code machine}. See {@code docs/networking.md}.
 */
package dev.apiary.vmm.virtio;
