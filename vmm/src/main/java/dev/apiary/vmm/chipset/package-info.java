/**
 * The PC chipset around the CPUs, as QEMU's {@code pc} machine and propolis present it: the i440FX host
 * bridge and PIIX3 ISA bridge identities on PCI bus 0, PIIX4 power management (ACPI PM1 registers, PM timer,
 * S5 power-off, power button SCI), the MC146818 RTC with battery-backed CMOS, reset through 0xCF9, port 0x92
 * and the 8042 keyboard controller, the QEMU debug console and POST code ports, and the 8254 PIT with
 * port 0x61 ({@link dev.apiary.vmm.chipset.Pit8254}), used on the software CPU; on KVM the PIT is the
 * in-kernel one. The interrupt controllers are in {@code dev.apiary.vmm.intc} (software CPU) or KVM.
 *
 * <p>May depend on {@code dev.apiary.vmm.bus}, {@code dev.apiary.vmm.device}, {@code dev.apiary.vmm.pci} and
 * {@code dev.apiary.vmm.memory} (for {@link dev.apiary.vmm.memory.MemoryLayout} only, to fill the CMOS
 * memory-size bytes); nothing else in the VMM. Time comes from an injectable clock so tests are
 * deterministic.
 */
package dev.apiary.vmm.chipset;
