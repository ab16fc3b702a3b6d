package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.display.InputSink;
import dev.apiary.vmm.display.KitPattern;
import dev.apiary.vmm.display.RfbTestClient;
import dev.apiary.vmm.display.VncServer;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The guest kit draws into ramfb and waits for keys; a viewer over VNC sees the pattern in two pixel formats
 * and types keys that the kit's 8042 driver reads as the right set-1 scancodes.
 */
class VncBootTest {
    private static final int W = 320;
    private static final int H = 200;

    @OnEveryAccelerator
    void viewerSeesThePatternAndTypesIntoTheGuest(Accelerator a) throws Exception {
        MachineConfig cfg = GuestKit.config(a, 1, 128L << 20,
                        "kit.tests=ramfb,kbd kit.ramfb=" + W + "x" + H + " kit.kbd.count=6 kit.kbd.ms=120000",
                        RebootPolicy.Stop)
                .withDisplay(MachineConfig.Display.defaults());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CountDownLatch ready = new CountDownLatch(1);
        try (Machine m = Machine.create(cfg);
             VncServer vnc = new VncServer(new InetSocketAddress("127.0.0.1", 0), m.chipset().framebuffer().orElseThrow(),
                     InputSink.ps2(m.chipset().keyboardController()), "kit", null)) {
            m.serialConsole().addListener((b, off, len) -> {
                synchronized (out) {
                    out.write(b, off, len);
                    if (out.toString(StandardCharsets.ISO_8859_1).contains("KIT kbd ready")) {
                        ready.countDown();
                    }
                }
            });
            CompletableFuture<GuestStop> run = CompletableFuture.supplyAsync(m::run);
            try {
                assertTrue(ready.await(300, TimeUnit.SECONDS), "the kit never got to its kbd check:\n" + text(out));
                assertTrue(text(out).contains("KIT ramfb ok"), text(out));
                int[] expected = KitPattern.pixels(W, H);
                try (RfbTestClient c = new RfbTestClient(vnc.address()).connect()) {
                    assertEquals(W, c.width);
                    assertEquals(H, c.height);
                    // XBGR, little-endian, ZRLE
                    c.setPixelFormat(32, 24, false, 255, 255, 255, 0, 8, 16);
                    c.cpixelBytes = 3;
                    c.setEncodings(16, 0);
                    c.requestAll(false);
                    c.readUpdate();
                    for (int i = 0; i < W * H; i++) {
                        int e = expected[i];
                        int xbgr = (e & 0xFF) << 16 | (e & 0xFF00) | (e >> 16) & 0xFF;
                        assertEquals(xbgr, c.pixels[i], "XBGR pixel " + i % W + "," + i / W);
                    }
                    // RGB565, big-endian, Raw
                    c.setPixelFormat(16, 16, true, 31, 63, 31, 11, 5, 0);
                    c.cpixelBytes = -1;
                    c.setEncodings(0);
                    c.requestAll(false);
                    c.readUpdate();
                    for (int i = 0; i < W * H; i++) {
                        int e = expected[i];
                        int rgb565 = Math.round(((e >> 16) & 0xFF) * 31 / 255f) << 11
                                | Math.round(((e >> 8) & 0xFF) * 63 / 255f) << 5 | Math.round((e & 0xFF) * 31 / 255f);
                        assertEquals(rgb565, c.pixels[i], "RGB565 pixel " + i % W + "," + i / W);
                    }
                    c.key(0x61, true); // a
                    c.key(0x61, false);
                    c.key(0xFF51, true); // Left (extended)
                    c.key(0xFF51, false);
                }
                GuestStop stop = run.get(300, TimeUnit.SECONDS);
                System.out.println("--- " + m.accelerator() + " → " + stop.describe() + "\n" + text(out));
                String kbd = text(out).lines().filter(l -> l.startsWith("KIT kbd ")).reduce((x, y) -> y).orElseThrow();
                assertEquals("KIT kbd ok scancodes=1e,9e,e0,4b,e0,cb", kbd.strip(), text(out));
            } finally {
                m.stop("test end");
            }
        }
    }

    private static String text(ByteArrayOutputStream out) {
        synchronized (out) {
            return out.toString(StandardCharsets.ISO_8859_1).replace("\r", "");
        }
    }
}
