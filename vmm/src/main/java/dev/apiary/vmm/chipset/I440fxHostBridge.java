package dev.apiary.vmm.chipset;

import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.pci.PciAddress;
import dev.apiary.vmm.pci.PciBus;
import dev.apiary.vmm.pci.PciFunction;

/**
 * The Intel 82441FX (i440FX) PCI and memory controller as function 0:0.0: identity only, as in QEMU's
 * {@code pc}. The PAM registers (0x59–0x5F, Intel 82441FX datasheet §3.2.19) and SMRAM (0x72, §3.2.23) are
 * stored so firmware can write and read them back, but change nothing: the legacy BIOS area is whatever the
 * machine mapped there, and there is no SMM.
 */
public final class I440fxHostBridge implements Device {
    public static final int VENDOR_ID = 0x8086;
    public static final int DEVICE_ID = 0x1237;
    public static final int REVISION = 0x02;
    public static final PciAddress ADDRESS = new PciAddress(0, 0, 0);

    static final int PAM0 = 0x59;
    static final int PAM_COUNT = 7;
    static final int SMRAM = 0x72;
    /** SMRAM reset value: C_BASE_SEG = 010 (compatible SMRAM at 0xA0000), §3.2.23. */
    static final int SMRAM_RESET = 0x02;

    private final PciFunction function;

    public I440fxHostBridge() {
        PciFunction.Builder b = PciFunction.builder(VENDOR_ID, DEVICE_ID)
                .classCode(0x06, 0x00, 0x00) // bridge, host bridge
                .revision(REVISION)
                .subsystem(0x1AF4, 0x1100); // as QEMU's devices
        for (int i = 0; i < PAM_COUNT; i++) {
            b.register(PAM0 + i, 1, 0, 0xFF);
        }
        b.register(SMRAM, 1, SMRAM_RESET, 0x78);
        this.function = b.build();
    }

    @Override
    public String name() {
        return ADDRESS.inventoryName("i440fx");
    }

    public PciFunction function() {
        return function;
    }

    /** Attaches the function at 0:0.0. */
    public void attach(PciBus pci) {
        pci.attach(ADDRESS.slot(), ADDRESS.function(), function);
    }

    @Override
    public void reset() {
        function.reset();
    }
}
