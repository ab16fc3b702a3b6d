package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Boots the guest kit on every accelerator this host has and checks what the guest saw of the machine. */
class GuestKitBootTest {
    private static final long MiB = 1L << 20;
    private static final String ALL = "kit.tests=banner,bootparams,e820,acpi,cpus,pci,rtc,pmtimer,pit,irq kit.exit=poweroff";

    static Stream<Arguments> machines() {
        return GuestKit.accelerators().flatMap(a -> Stream.of(
                Arguments.of(a, 1, 64), Arguments.of(a, 2, 256), Arguments.of(a, 4, 4096), Arguments.of(a, 64, 512)));
    }

    @ParameterizedTest(name = "{0}: {1} vCPUs, {2} MiB")
    @MethodSource("machines")
    void guestSeesTheMachineItWasGiven(Accelerator accel, int cpus, long mib) throws Exception {
        GuestKit.Run r = GuestKit.boot(accel, cpus, mib * MiB, ALL);
        assertInstanceOf(GuestStop.PowerOff.class, r.stop(), r.stop().describe());
        assertTrue(r.lines().get(0).startsWith("KIT start cmdline=\"" + ALL + "\""), r.lines().get(0));
        assertEquals("KIT banner Apiary guest kit 0.1.0", r.marker("banner").orElseThrow());

        // CPUs: the MADT lists them and every one of them was started through INIT/SIPI.
        String cpusLine = r.ok("cpus");
        assertEquals(String.valueOf(cpus), GuestKit.Run.field(cpusLine, "madt"), cpusLine);
        assertEquals(String.valueOf(cpus), GuestKit.Run.field(cpusLine, "smp"), cpusLine);
        assertEquals(cpus, r.markers("cpu-online").size());

        // Memory map: usable RAM adds up to what was asked, less the EBDA and the BIOS area.
        String e820 = r.ok("e820");
        long ram = Long.parseLong(GuestKit.Run.field(e820, "ram"));
        assertTrue(ram <= mib * MiB && ram >= mib * MiB - (1 << 20), "e820 RAM " + ram + " for " + mib + " MiB");
        if (mib > 3072) {
            assertTrue(r.markers("e820-entry").stream().anyMatch(l -> l.startsWith("KIT e820-entry 0x100000000 ")),
                    "RAM above 4 GiB in the e820 map: " + r.markers("e820-entry"));
        }

        // PCI: the i440FX host bridge, the PIIX3 LPC bridge and the PIIX4 PM function.
        String pci = r.ok("pci");
        List<String> devs = r.markers("pci-dev");
        assertTrue(devs.stream().anyMatch(l -> l.startsWith("KIT pci-dev 00:00.0 8086:1237 class=060000")), devs.toString());
        assertTrue(devs.stream().anyMatch(l -> l.startsWith("KIT pci-dev 00:01.0 8086:7000 class=060100")), devs.toString());
        assertTrue(devs.stream().anyMatch(l -> l.startsWith("KIT pci-dev 00:01.3 8086:7113 class=068000")), devs.toString());
        assertEquals(String.valueOf(devs.size()), GuestKit.Run.field(pci, "devices"));

        // ACPI: every checksum verified by the guest, the tables we build, the FADT facts.
        String acpi = r.ok("acpi");
        assertEquals("APIARY", GuestKit.Run.field(acpi, "oem"));
        assertEquals("FACP,APIC,DSDT", GuestKit.Run.field(acpi, "tables"));
        String fadt = r.ok("fadt");
        assertEquals("0xb008", GuestKit.Run.field(fadt, "pm_tmr"));
        assertEquals("0xb004", GuestKit.Run.field(fadt, "pm1a_cnt"));
        assertEquals("io:0xcf9:0x6", GuestKit.Run.field(fadt, "reset"));
        assertEquals("0", GuestKit.Run.field(fadt, "s5"));

        // Time: the RTC says now (UTC), and the PM timer runs at 3.579545 MHz.
        Instant rtc = Instant.parse(r.ok("rtc"));
        assertTrue(Duration.between(rtc, Instant.now()).abs().toMinutes() < 5, "RTC " + rtc + " vs host " + Instant.now());
        long hz = Long.parseLong(GuestKit.Run.field(r.ok("pmtimer"), "hz"));
        assertTrue(Math.abs(hz - 3_579_545) < 3_579_545 * 0.03, "PM timer " + hz + " Hz");

        // PIT channel 2 through port 0x61 (gate, OUT2), as Linux calibrates with it: 10 ms took about 10 ms.
        assertTrue(r.marker("pit").isPresent(), r.output());
        r.ok("pit");

        // Interrupts: LAPIC timer and the UART's IRQ 4 through the IOAPIC.
        String irq = r.ok("irq");
        assertTrue(Integer.parseInt(GuestKit.Run.field(irq, "timer")) >= 10, irq);
        assertTrue(Integer.parseInt(GuestKit.Run.field(irq, "uart")) >= 1, irq);

        String bp = r.ok("bootparams");
        assertEquals("0x20f", GuestKit.Run.field(bp, "protocol"));
        assertEquals(String.valueOf(ALL.length()), GuestKit.Run.field(bp, "cmdline_len"));
        assertTrue(r.marker("done").isPresent());
        assertEquals(1, r.boots());
    }

    @OnEveryAccelerator
    void rebootBootsAgainWithEveryCpuAndInterruptsAndCmosSurvives(Accelerator accel) throws Exception {
        GuestKit.Run r = GuestKit.boot(accel, 4, 128 * MiB, "kit.tests=cpus,irq kit.exit=reset-once");
        assertInstanceOf(GuestStop.PowerOff.class, r.stop(), r.stop().describe());
        assertEquals(List.of("KIT boot count=1", "KIT boot count=2"), r.markers("boot"));
        assertEquals(2, r.boots());
        assertEquals(2, r.lines().stream().filter(l -> l.startsWith("KIT start")).count());
        // The second boot found the machine as new: every AP started again (vCPUs, local APICs and the IOAPIC
        // were reset), interrupts were delivered again.
        assertEquals(List.of("KIT cpus ok madt=4 smp=4", "KIT cpus ok madt=4 smp=4"), r.markers("cpus"));
        assertEquals(2, r.markers("irq").stream().filter(l -> l.startsWith("KIT irq ok")).count(), r.output());
    }

    @OnEveryAccelerator
    void resetWithStopPolicyEndsTheRun(Accelerator accel) throws Exception {
        GuestKit.Run r = GuestKit.boot(GuestKit.config(accel, 1, 64 * MiB, "kit.tests=banner kit.exit=reset",
                RebootPolicy.Stop), 120);
        GuestStop.Reset reset = assertInstanceOf(GuestStop.Reset.class, r.stop(), r.stop().describe());
        assertTrue(reset.source().contains("0xCF9") || reset.source().contains("cf9"), reset.source());
        assertEquals(1, r.boots());
    }

    @OnEveryAccelerator
    void tripleFaultResetsTheMachine(Accelerator accel) throws Exception {
        GuestKit.Run stopped = GuestKit.boot(GuestKit.config(accel, 1, 64 * MiB, "kit.tests=banner kit.exit=triplefault",
                RebootPolicy.Stop), 120);
        assertInstanceOf(GuestStop.TripleFault.class, stopped.stop(), stopped.stop().describe());
        assertTrue(stopped.marker("done").isPresent());
    }

    @OnEveryAccelerator
    void guestExceptionIsReportedByTheGuest(Accelerator accel) throws Exception {
        GuestKit.Run r = GuestKit.boot(accel, 1, 64 * MiB, "kit.tests=panic kit.exit=poweroff");
        String panic = r.marker("panic").orElseThrow(() -> new AssertionError(r.output()));
        assertEquals("6", GuestKit.Run.field(panic, "vector"));
        assertEquals("3", GuestKit.Run.field(panic, "cpl"));
        assertInstanceOf(GuestStop.PowerOff.class, r.stop());
    }

    @OnEveryAccelerator
    void stopAskedForWhileTheGuestResetsIsNotLost(Accelerator accel) throws Exception {
        // The guest would reboot forever (policy Reboot, kit.exit=reset); a stop right behind a reset must win.
        try (Machine m = Machine.create(GuestKit.config(accel, 1, 64 * MiB, "kit.tests=banner kit.exit=reset",
                RebootPolicy.Reboot))) {
            CompletableFuture<GuestStop> run = CompletableFuture.supplyAsync(m::run);
            m.requestReset("test");
            m.stop("test");
            GuestStop s = run.get(120, TimeUnit.SECONDS);
            assertInstanceOf(GuestStop.Stopped.class, s, s.describe());
        }
    }
}
