package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.vmm.accel.kvm.KvmAccelerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Doorbell writes routed through KVM_IOEVENTFD reach the callback and never the MMIO handler; cancel undoes it. */
class KvmIoEventsTest {
    private static final long DOORBELL = 0xC000_0000L;

    /** Three 32-bit writes to DOORBELL, then ACPI S5. */
    private static final byte[] CODE = {
        (byte) 0xB8, 0x78, 0x56, 0x34, 0x12,                                   // mov eax, 0x12345678
        (byte) 0xA3, 0, 0, 0, (byte) 0xC0, 0, 0, 0, 0,                         // mov [0xC0000000], eax
        (byte) 0xA3, 0, 0, 0, (byte) 0xC0, 0, 0, 0, 0,
        (byte) 0xA3, 0, 0, 0, (byte) 0xC0, 0, 0, 0, 0,
        0x66, (byte) 0xBA, 0x04, (byte) 0xB0, 0x66, (byte) 0xB8, 0x00, 0x20, 0x66, (byte) 0xEF, // S5
        (byte) 0xEB, (byte) 0xFE,
    };

    private static final class Counter implements IoHandler {
        final AtomicInteger writes = new AtomicInteger();

        public long read(long offset, int size) {
            return 0;
        }

        public void write(long offset, int size, long value) {
            writes.incrementAndGet();
        }
    }

    private int[] run(Path dir, boolean route) throws Exception {
        Path image = dir.resolve("doorbell.bzImage");
        Files.write(image, EmulationFailureTest.bzImage(CODE));
        MachineConfig cfg = new MachineConfig("db", 1, 64L << 20, image, null, "", RebootPolicy.Stop)
                .withAccelerator(Accelerator.KVM);
        try (Machine m = Machine.create(cfg)) {
            Counter mmio = new Counter();
            m.mmio().register(DOORBELL, 4, "test-doorbell", mmio);
            AtomicInteger signals = new AtomicInteger();
            IoEventRegistrar.Registration reg = route
                    ? m.vm().ioEvents().register(DOORBELL, 4, signals::incrementAndGet) : null;
            GuestStop stop = m.run();
            assertInstanceOf(GuestStop.PowerOff.class, stop, stop.describe());
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (route && signals.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            if (reg != null) {
                reg.cancel();
            }
            return new int[] {mmio.writes.get(), signals.get()};
        }
    }

    @Test
    void routedWritesSignalInsteadOfExiting(@TempDir Path dir) throws Exception {
        // KVM-specific: ioeventfd is how KVM avoids the exit; the software CPU has no exit to avoid.
        GuestKit.assumeKvm();
        int[] plain = run(dir, false);
        assertEquals(3, plain[0], "without routing every write is an MMIO exit");
        int[] routed = run(dir, true);
        assertEquals(0, routed[0], "routed writes never reach the MMIO handler");
        assertTrue(routed[1] >= 1 && routed[1] <= 3, "callback ran (writes may coalesce): " + routed[1]);
    }
}
