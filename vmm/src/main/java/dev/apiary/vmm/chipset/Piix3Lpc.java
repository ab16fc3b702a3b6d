package dev.apiary.vmm.chipset;

import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.pci.PciAddress;
import dev.apiary.vmm.pci.PciBus;
import dev.apiary.vmm.pci.PciFunction;

/**
 * The PIIX3 PCI-to-ISA bridge (82371SB function 0) at 0:1.0, with the multi-function bit so that guests scan
 * 0:1.3 (PIIX4 PM). The PIRQ route control registers PIRQRC[A:D] (0x60–0x63, 82371SB datasheet §2.2.11:
 * reset 0x80 = routing disabled; bits 6:4 reserved) are readable and writable but only stored: INTx routing
 * is fixed by {@link dev.apiary.vmm.pci.PciInterruptRouting} (PIRQ links to GSIs 16–19 on the IOAPIC), which
 * the ACPI {@code _PRT} describes, so a guest in APIC mode never needs them and PIC-mode routing is not
 * supported.
 */
public final class Piix3Lpc implements Device {
    public static final int VENDOR_ID = 0x8086;
    public static final int DEVICE_ID = 0x7000;
    public static final PciAddress ADDRESS = new PciAddress(0, 1, 0);

    public static final int PIRQRC_A = 0x60;
    public static final int PIRQ_COUNT = 4;
    static final int PIRQRC_RESET = 0x80;
    /** IRQROUTEN (bit 7) and IRQ number (bits 3:0). */
    static final int PIRQRC_WRITABLE = 0x8F;

    private final PciFunction function;

    public Piix3Lpc() {
        PciFunction.Builder b = PciFunction.builder(VENDOR_ID, DEVICE_ID)
                .classCode(0x06, 0x01, 0x00) // bridge, ISA bridge
                .subsystem(0x1AF4, 0x1100)
                .multiFunction();
        for (int i = 0; i < PIRQ_COUNT; i++) {
            b.register(PIRQRC_A + i, 1, PIRQRC_RESET, PIRQRC_WRITABLE);
        }
        this.function = b.build();
    }

    @Override
    public String name() {
        return ADDRESS.inventoryName("piix3");
    }

    public PciFunction function() {
        return function;
    }

    /** Attaches the function at 0:1.0. */
    public void attach(PciBus pci) {
        pci.attach(ADDRESS.slot(), ADDRESS.function(), function);
    }

    /** The value of PIRQRC[pirq] (0 = A … 3 = D) as the guest last wrote it. */
    public int pirqRoute(int pirq) {
        return (int) function.readConfig(PIRQRC_A + pirq, 1);
    }

    @Override
    public void reset() {
        function.reset();
    }
}
