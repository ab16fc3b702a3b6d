package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Boots the guest kit's protected-mode part through the 32-bit boot protocol entry on a bare test machine
 * (RAM and a COM1, no ACPI, no APIC): startup_32 goes to long mode, the CPL0 kernel sets up the GDT, TSS, IDT,
 * SYSCALL and enters CPL3, whose port I/O traps to the #GP handler; the banner reaches COM1.
 */
class GuestKitBootTest {
    static final Path KIT = Path.of("../guestkit/target/apiary-kit.bzImage");

    static byte[] kit() throws IOException, InterruptedException {
        if (!Files.exists(KIT)) {
            Process p = new ProcessBuilder("make", "-C", "../guestkit").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor();
        }
        assumeTrue(Files.exists(KIT), "guest kit not built");
        return Files.readAllBytes(KIT);
    }

    /** Loads the kit at 1 MiB with a zero page at 0x7000 and the command line at 0x20000. */
    static Cpu boot(TestBus bus, String cmdline, CpuConfig config) throws Exception {
        byte[] image = kit();
        int setupSects = image[0x1F1] & 0xFF;
        int pmOffset = (setupSects == 0 ? 4 : setupSects + 1) * 512;
        byte[] pm = java.util.Arrays.copyOfRange(image, pmOffset, image.length);
        bus.load(0x100000, pm);
        int zp = 0x7000;
        bus.load(zp + 0x1F1, java.util.Arrays.copyOfRange(image, 0x1F1, 0x280));
        bus.load(0x20000, (cmdline + "\0").getBytes(StandardCharsets.US_ASCII));
        bus.ram.putInt(zp + 0x228, 0x20000); // cmd_line_ptr
        bus.ram.put(zp + 0x1E8, (byte) 2); // e820 entries
        int e = zp + 0x2D0;
        bus.ram.putLong(e, 0).putLong(e + 8, 0x9F000).putInt(e + 16, 1);
        bus.ram.putLong(e + 20, 0x100000).putLong(e + 28, bus.ram.capacity() - 0x100000).putInt(e + 36, 1);
        X86Platform platform = new X86Platform(bus, new GuestClock());
        Cpu cpu = new Cpu(platform, LocalInterrupts.NONE, config);
        CpuState s = cpu.state();
        s.setCr0(0x11);
        for (int seg = 0; seg < 6; seg++) {
            s.setSegment(seg, seg == CpuState.CS ? 0x10 : 0x18, 0, 0xFFFF_FFFFL, seg == CpuState.CS ? 0xC09B : 0xC093);
        }
        s.setSegment(CpuState.TR, 0, 0, 0xFFFF, 0x8B);
        s.setRip(0x100000);
        s.setGpr(6, zp);
        s.setRflags(2);
        return cpu;
    }

    @Test
    void kitPrintsItsBannerAndHalts() throws Exception {
        TestBus bus = new TestBus(64);
        Cpu cpu = boot(bus, "console=ttyS0 kit.tests=banner,cpus,e820,bootparams,facts,exits kit.exit=halt", new CpuConfig(0, 0, 1));
        Cpu.Exit exit = null;
        for (int i = 0; i < 200 && !bus.serial.toString().contains("KIT done"); i++) {
            exit = cpu.run(1_000_000);
            if (exit != Cpu.Exit.BUDGET) {
                break;
            }
        }
        String out = bus.serial.toString();
        System.out.println(out + "\ninstructions: " + cpu.instructions() + " exit " + exit);
        assertTrue(out.contains("KIT start cmdline="), () -> "no start marker:\n" + out + "\n" + cpu.state().describe() + cpu.recentInstructions());
        assertTrue(out.contains("KIT banner"), () -> "no banner:\n" + out + "\n" + cpu.state().describe() + cpu.recentInstructions());
        assertTrue(out.contains("KIT done"), () -> out + "\n" + cpu.state().describe() + cpu.recentInstructions());
    }

    @Test
    void triplefaultExitEndsInShutdown() throws Exception {
        TestBus bus = new TestBus(64);
        Cpu cpu = boot(bus, "kit.tests=banner kit.exit=triplefault", new CpuConfig(0, 0, 1));
        Cpu.Exit exit = Cpu.Exit.BUDGET;
        for (int i = 0; i < 200 && exit == Cpu.Exit.BUDGET; i++) {
            exit = cpu.run(1_000_000);
        }
        assertEquals(Cpu.Exit.SHUTDOWN, exit, () -> bus.serial + "\n" + cpu.state().describe() + cpu.recentInstructions());
    }
}
