package dev.apiary.vmm.intc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.x86.GuestClock;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Random register traffic from a hostile guest: nothing throws, nothing hangs, the chips stay usable. */
class HostileGuestTest {
    private static final int[] SIZES = {1, 2, 4, 8};

    @Test
    void randomRegisterTrafficNeverThrows() {
        InterruptControllers intc = new InterruptControllers(3, new GuestClock());
        Bus ports = new Bus("ports");
        Bus mmio = new Bus("mmio");
        intc.attach(ports, mmio);
        for (int i = 0; i < 3; i++) {
            intc.lapic(i).connect(new RecordingSignals());
        }
        SplittableRandom r = new SplittableRandom(1234);
        long now = System.nanoTime();
        for (int i = 0; i < 200_000; i++) {
            LocalApic a = intc.lapic(r.nextInt(3));
            int size = SIZES[r.nextInt(SIZES.length)];
            long value = r.nextLong();
            switch (r.nextInt(9)) {
                case 0 -> a.write(r.nextInt(0x1010) & ~0xF, 4, value);
                case 1 -> a.read(r.nextLong(-16, 0x1100), size);
                case 2 -> a.write(r.nextLong(-16, 0x1100), size, value);
                case 3 -> mmio.write(0xFEC0_0000L + (r.nextBoolean() ? 0 : 0x10), 4, r.nextInt(0x80));
                case 4 -> mmio.write(0xFEC0_0000L + r.nextInt(0x50), size, value);
                case 5 -> ports.write(new int[] {0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1}[r.nextInt(6)], size, value);
                case 6 -> intc.irq(r.nextInt(24)).set(r.nextBoolean());
                case 7 -> intc.msi().signal(r.nextBoolean() ? 0xFEE0_0000L | r.nextInt(0x100000) : value, (int) value);
                default -> {
                    now += r.nextInt(1_000_000);
                    a.poll(now);
                    a.setTscDeadline(r.nextBoolean() ? value : new GuestClock().toTsc(now));
                    a.setApicBase(r.nextBoolean() ? 0xFEE0_0800L : value);
                    a.setCr8((int) value);
                    if (a.hasInterrupt()) {
                        a.acknowledge();
                    }
                }
            }
        }
        // Still a working machine afterwards.
        intc.reset();
        LocalApic bsp = intc.lapic(0);
        bsp.write(0xF0, 4, 0x1FF);
        intc.msi().signal(0xFEE0_0000L, 0x45);
        assertTrue(bsp.hasInterrupt());
    }
}
