package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.display.Frame;
import dev.apiary.vmm.display.Framebuffer;
import dev.apiary.vmm.display.Png;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's kernel (scripts/fetch-debian-guest) booted directly with a display: vesafb binds to the linear framebuffer
 * described in screen_info and fbcon draws the console there — the screen is not blank once the guest has written to
 * tty1, and it changes when the guest writes again.
 *
 * <p>Runs on every accelerator this host has.
 */
class LinuxFramebufferBootTest {
    private static final int W = 1024;
    private static final int H = 768;

    /** Pixels that are not black. */
    private static int lit(Frame f) {
        int n = 0;
        for (int p : f.pixels()) {
            n += (p & 0xFFFFFF) != 0 ? 1 : 0;
        }
        return n;
    }

    @OnEveryAccelerator
    void fbconDrawsTheConsoleOnTheLinearFramebuffer(Accelerator accel, @TempDir Path dir) throws Exception {
        Process fetch = new ProcessBuilder(GuestKit.ROOT.resolve("scripts/fetch-debian-guest").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> paths = new String(fetch.getInputStream().readAllBytes()).lines().toList();
        assertTrue(fetch.waitFor(600, TimeUnit.SECONDS) && fetch.exitValue() == 0, "fetch-debian-guest failed");
        Path kernel = Path.of(paths.get(0));
        Path busybox = Path.of(paths.get(1));
        // The guest writes to tty1 (the visible console, drawn by fbcon as each write happens), then says so on
        // the serial port, waits for the test's screenshot, and writes more.
        String init = """
                #!/bin/busybox sh
                /bin/busybox mount -t proc proc /proc
                /bin/busybox mount -t sysfs sys /sys
                /bin/busybox mount -t devtmpfs dev /dev
                echo 0 > /sys/class/graphics/fbcon/cursor_blink
                echo "APIARY-FB fb0=$(/bin/busybox cat /sys/class/graphics/fb0/name) size=$(/bin/busybox cat /sys/class/graphics/fb0/virtual_size)"
                echo "Hello from Apiary: the first line on tty1" > /dev/tty1
                echo "APIARY-FB first"
                /bin/busybox sleep 5
                for i in 1 2 3 4 5 6 7 8; do echo "line $i: the guest printed more, the screen changes" > /dev/tty1; done
                echo "APIARY-FB second"
                /bin/busybox sleep 5
                /bin/busybox poweroff -f
                """;
        Path initrd = dir.resolve("initrd.cpio");
        try (var out = Files.newOutputStream(initrd)) {
            Cpio c = new Cpio(out);
            c.dir("bin");
            c.dir("dev");
            c.dir("proc");
            c.dir("sys");
            c.charDevice("dev/console", 5, 1);
            c.file("bin/busybox", Files.readAllBytes(busybox), 0755);
            c.file("init", init.getBytes(StandardCharsets.US_ASCII), 0755);
            c.trailer();
        }
        MachineConfig cfg = new MachineConfig("fbcon", 1, 256L << 20, kernel, initrd,
                "console=ttyS0 panic=-1 rdinit=/init", RebootPolicy.Stop, List.of())
                .withAccelerator(accel).withDisplay(new MachineConfig.Display(W, H, true));
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        try (Machine m = Machine.create(cfg)) {
            m.serialConsole().addListener((b, off, len) -> {
                synchronized (serial) {
                    serial.write(b, off, len);
                }
            });
            Framebuffer fb = m.chipset().framebuffer().orElseThrow();
            CompletableFuture<GuestStop> run = CompletableFuture.supplyAsync(m::run);
            try {
                Predicate<String> first = s -> s.contains("APIARY-FB first");
                awaitSerial(serial, run, first);
                Frame one = fb.capture();
                awaitSerial(serial, run, s -> s.contains("APIARY-FB second"));
                Frame two = fb.capture();
                Files.write(GuestKit.ROOT.resolve("vmm/target/linux-fbcon-first.png"), Png.encode(one));
                Files.write(GuestKit.ROOT.resolve("vmm/target/linux-fbcon-second.png"), Png.encode(two));
                GuestStop stop = run.get(120, TimeUnit.SECONDS);
                String out = text(serial);
                System.out.printf("LinuxFramebufferBootTest on %s: %.0f s to power-off%n", accel,
                        (System.nanoTime() - t0) / 1e9);
                assertInstanceOf(GuestStop.PowerOff.class, stop, stop.describe() + "\n" + out);
                assertTrue(out.contains("vesafb: mode is 1024x768x32, linelength=4096"), out);
                assertTrue(out.contains("fb0: VESA VGA frame buffer device"), out);
                assertTrue(out.contains("Console: switching to colour frame buffer device 128x48"), out);
                assertTrue(out.contains("APIARY-FB fb0=VESA VGA size=1024,768"), out);
                assertEquals(W, one.width());
                assertEquals(H, one.height());
                // One line of 8x16 glyphs on tty1 lights hundreds of pixels; nine lines more.
                int litOne = lit(one);
                int litTwo = lit(two);
                assertTrue(litOne > 300, "the first screen is blank (" + litOne + " lit pixels)");
                assertTrue(litTwo > litOne + 1000, "the screen did not change: " + litOne + " then " + litTwo);
            } finally {
                m.stop("test end");
            }
        }
    }

    private static void awaitSerial(ByteArrayOutputStream serial, CompletableFuture<GuestStop> run,
            Predicate<String> p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
        while (!p.test(text(serial))) {
            if (run.isDone()) {
                fail("the guest stopped (" + run.get().describe() + "):\n" + text(serial));
            }
            assertTrue(System.nanoTime() < deadline, "no marker on serial in 600 s:\n" + text(serial));
            Thread.sleep(50);
        }
    }

    private static String text(ByteArrayOutputStream serial) {
        synchronized (serial) {
            return serial.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
