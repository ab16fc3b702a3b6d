package dev.apiary.vmm.intc;

import dev.apiary.vmm.device.MsiSink;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Turns a PCI MSI/MSI-X write into an APIC bus message (SDM vol. 3 §11.11): the address must lie in
 * 0xFEE00000–0xFEEFFFFF, with the destination ID in bits 19:12 and the destination mode in bit 2 (the
 * redirection hint, bit 3, only selects lowest-priority arbitration on real chipsets and is taken as the
 * data's delivery mode says, as KVM does); the data holds the vector (7:0), delivery mode (10:8), level
 * (14) and trigger mode (15). Messages are edge-triggered for the LAPIC: no EOI goes back anywhere. A write
 * elsewhere, or with a reserved delivery mode, is dropped and counted.
 */
public final class MsiRouter implements MsiSink {
    private static final System.Logger LOG = System.getLogger(MsiRouter.class.getName());
    private static final long MSI_WINDOW = 0xFEEL;

    private final ApicBus bus;
    private final AtomicLong dropped = new AtomicLong();

    public MsiRouter(ApicBus bus) {
        this.bus = bus;
    }

    @Override
    public void signal(long address, int data) {
        DeliveryMode mode = DeliveryMode.of(data >> 8);
        if ((address >>> 20) != MSI_WINDOW || mode == null || mode == DeliveryMode.SMI) {
            long n = dropped.incrementAndGet();
            if (Long.bitCount(n) == 1) { // 1, 2, 4, 8 …: a misprogrammed device does not flood the log
                LOG.log(Level.WARNING, () -> String.format("MSI to 0x%x data 0x%x dropped (%d so far)", address, data, n));
            }
            return;
        }
        boolean levelTriggered = (data & 0x8000) != 0;
        if (levelTriggered && (data & 0x4000) == 0) {
            return; // a level de-assert message carries no interrupt
        }
        bus.deliver(new InterruptMessage((int) (address >> 12), (address & 0x4) != 0, mode, data, false));
    }

    /** How many messages were dropped (address outside the MSI window or a reserved delivery mode). */
    public long dropped() {
        return dropped.get();
    }
}
