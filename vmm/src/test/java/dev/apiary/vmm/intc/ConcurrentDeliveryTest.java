package dev.apiary.vmm.intc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.x86.GuestClock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Devices, two vCPUs and the PIC all at once: level lines through the IOAPIC with EOI redelivery, IPIs both
 * ways and ExtINT, to show the lock order holds (no deadlock) and no interrupt is lost.
 */
class ConcurrentDeliveryTest {
    @Test
    void devicesAndVcpusTogetherNeitherDeadlockNorLoseInterrupts() throws Exception {
        InterruptControllers intc = new InterruptControllers(2, new GuestClock());
        for (int i = 0; i < 2; i++) {
            intc.lapic(i).write(0xF0, 4, 0x1FF);
        }
        IoApic io = intc.ioApic();
        io.write(0, 4, 0x10 + 2 * 9);
        io.write(0x10, 4, (1 << 15) | 0x39); // SCI: level, to CPU 0
        io.write(0, 4, 0x10 + 2 * 4);
        io.write(0x10, 4, 0x34); // COM1: edge, to CPU 0

        int rounds = 2000;
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger sci = new AtomicInteger();
        AtomicInteger ipisOn1 = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            Future<?> device = pool.submit(() -> {
                for (int i = 0; i < rounds; i++) {
                    intc.irq(9).set(true);
                    while (sci.get() <= i) {
                        Thread.onSpinWait(); // until the "driver" on CPU 0 has cleared the device's status
                    }
                    intc.irq(4).pulse();
                }
                done.set(true);
            });
            Future<?> cpu0 = pool.submit(() -> {
                LocalApic me = intc.lapic(0);
                int sent = 0;
                while (!done.get() || me.hasInterrupt()) {
                    if (me.hasInterrupt()) {
                        int v = me.acknowledge();
                        if (v == 0x39) {
                            intc.irq(9).set(false); // the handler acknowledges the device before its EOI
                            sci.incrementAndGet();
                        }
                        me.write(0xB0, 4, 0);
                    }
                    if (sent < rounds) {
                        me.write(0x310, 4, 1L << 24);
                        me.write(0x300, 4, 0x41); // fixed IPI to CPU 1
                        sent++;
                    }
                }
            });
            Future<?> cpu1 = pool.submit(() -> {
                LocalApic me = intc.lapic(1);
                while (!done.get() || me.hasInterrupt()) {
                    if (me.hasInterrupt()) {
                        if (me.acknowledge() == 0x41) {
                            ipisOn1.incrementAndGet();
                        }
                        me.write(0xB0, 4, 0);
                        me.write(0x310, 4, 0);
                        me.write(0x300, 4, 0x42); // and one back
                    }
                }
            });
            device.get(60, TimeUnit.SECONDS);
            cpu0.get(60, TimeUnit.SECONDS);
            cpu1.get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(rounds, sci.get(), "every level assertion was seen exactly once");
        assertTrue(ipisOn1.get() > 0);
        assertFalse(intc.lapic(0).hasInterrupt());
        io.write(0, 4, 0x10 + 2 * 9);
        assertEquals(0, io.read(0x10, 4) & (1 << 14), "no remote IRR left behind");
    }
}
