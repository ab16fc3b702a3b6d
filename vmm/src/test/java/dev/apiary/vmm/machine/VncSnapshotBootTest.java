package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.display.InputSink;
import dev.apiary.vmm.display.KitPattern;
import dev.apiary.vmm.display.VncServer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real VNC client, Debian's vncsnapshot, against the VMM's VNC server while the guest kit shows its ramfb pattern,
 * with the guest drawing in two pixel formats (XRGB8888 and RGB565). vncsnapshot asks for its own format (32 bits,
 * blue-green-red, which the log line checks) and writes JPEG, so the bars are compared within JPEG's error.
 * Skipped where vncsnapshot is not installed (scripts/install-deps --test installs it).
 */
class VncSnapshotBootTest {
    private static final int W = 320;
    private static final int H = 240;

    @OnEveryAccelerator
    void vncsnapshotSeesThePatternInBothGuestFormats(Accelerator a, @TempDir Path dir) throws Exception {
        boolean installed = Files.isExecutable(Path.of("/usr/bin/vncsnapshot"));
        if (!installed) {
            System.out.println("SKIP VncSnapshotBootTest: vncsnapshot is not installed (scripts/install-deps --test)");
        }
        Assumptions.assumeTrue(installed, "vncsnapshot is not installed");
        for (String format : new String[] {"xrgb8888", "rgb565"}) {
            MachineConfig cfg = GuestKit.config(a, 1, 64L << 20, "kit.tests=ramfb kit.ramfb=" + W + "x" + H
                    + " kit.ramfb.format=" + format + " kit.exit=halt", RebootPolicy.Stop)
                    .withDisplay(MachineConfig.Display.defaults());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (Machine m = Machine.create(cfg);
                 VncServer vnc = new VncServer(new InetSocketAddress("127.0.0.1", 0),
                         m.chipset().framebuffer().orElseThrow(), InputSink.NONE, "kit", null)) {
                m.serialConsole().addListener((b, off, len) -> {
                    synchronized (out) {
                        out.write(b, off, len);
                    }
                });
                CompletableFuture<GuestStop> run = CompletableFuture.supplyAsync(m::run);
                try {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
                    while (!text(out).contains("KIT done")) {
                        assertFalse(run.isDone(), text(out));
                        assertTrue(System.nanoTime() < deadline, "no KIT done:\n" + text(out));
                        Thread.sleep(20);
                    }
                    assertTrue(text(out).contains("KIT ramfb ok") && text(out).contains("format=" + format), text(out));
                    Path jpeg = dir.resolve(format + ".jpg");
                    Process p = new ProcessBuilder("vncsnapshot", "-allowblank", "-quality", "100",
                            "127.0.0.1::" + vnc.address().getPort(), jpeg.toString()).redirectErrorStream(true).start();
                    String log = new String(p.getInputStream().readAllBytes());
                    assertTrue(p.waitFor(120, TimeUnit.SECONDS), log);
                    assertEquals(0, p.exitValue(), log);
                    assertTrue(log.contains("shift red 0 green 8 blue 16"), "vncsnapshot's own pixel format: " + log);
                    BufferedImage img = ImageIO.read(jpeg.toFile());
                    assertEquals(W, img.getWidth());
                    assertEquals(H, img.getHeight());
                    int[] got = img.getRGB(0, 0, W, H, null, 0, W);
                    assertNull(barsDifference(KitPattern.pixels(W, H), got, 24), format + "\n" + log);
                } finally {
                    m.stop("test end");
                }
            }
        }
    }

    /**
     * Every bar's colour within {@code tolerance} per channel in the middle column of the bar, on rows away from the
     * diagonal (JPEG blurs colour edges); null when it holds.
     */
    static String barsDifference(int[] expected, int[] got, int tolerance) {
        for (int i = 0; i < 8; i++) {
            int x = (2 * i + 1) * W / 16;
            for (int y = 0; y < H; y += 3) {
                if (Math.abs(y * W / H - x) < 8) {
                    continue;
                }
                int e = expected[y * W + x];
                int g = got[y * W + x];
                for (int shift = 0; shift <= 16; shift += 8) {
                    if (Math.abs(((e >> shift) & 0xFF) - ((g >> shift) & 0xFF)) > tolerance) {
                        return String.format("bar %d at %d,%d: expected %06x, got %06x", i, x, y, e & 0xFFFFFF, g & 0xFFFFFF);
                    }
                }
            }
        }
        return null;
    }

    private static String text(ByteArrayOutputStream out) {
        synchronized (out) {
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
