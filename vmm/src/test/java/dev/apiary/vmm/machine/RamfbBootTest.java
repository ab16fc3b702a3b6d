package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.display.Frame;
import dev.apiary.vmm.display.GuestPixelFormat;
import dev.apiary.vmm.display.KitPattern;
import dev.apiary.vmm.display.Png;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import javax.imageio.ImageIO;

/** The guest kit configures ramfb through fw_cfg DMA from CPL3 and draws its pattern; the screenshot matches it. */
class RamfbBootTest {
    private static final long MiB = 1L << 20;

    private static GuestKit.Run boot(Accelerator a, String cmdline, boolean display, Frame[] frame) throws Exception {
        MachineConfig cfg = GuestKit.config(a, 1, 128 * MiB, cmdline, RebootPolicy.Stop)
                .withDisplay(display ? MachineConfig.Display.defaults() : null);
        return GuestKit.boot(cfg, 300, m -> m.chipset().framebuffer().ifPresent(fb -> frame[0] = fb.capture()));
    }

    @OnEveryAccelerator
    void screenshotMatchesThePatternPixelForPixel(Accelerator a) throws Exception {
        Frame[] frame = new Frame[1];
        GuestKit.Run r = boot(a, "kit.tests=ramfb", true, frame);
        String ok = r.ok("ramfb");
        assertEquals("1024", GuestKit.Run.field(ok, "w"));
        assertEquals("768", GuestKit.Run.field(ok, "h"));
        Frame f = frame[0];
        assertEquals(1024, f.width());
        assertEquals(768, f.height());
        int[] expected = KitPattern.pixels(1024, 768);
        assertNull(KitPattern.firstDifference(1024, 768, expected, f.pixels()));
        BufferedImage png = ImageIO.read(new ByteArrayInputStream(Png.encode(f)));
        int[] decoded = png.getRGB(0, 0, 1024, 768, null, 0, 1024);
        assertNull(KitPattern.firstDifference(1024, 768, expected, decoded), "PNG screenshot");
    }

    @OnEveryAccelerator
    void oddSizeChosenByTheGuest(Accelerator a) throws Exception {
        Frame[] frame = new Frame[1];
        GuestKit.Run r = boot(a, "kit.tests=ramfb kit.ramfb=203x101", true, frame);
        r.ok("ramfb");
        assertEquals(203, frame[0].width());
        assertEquals(101, frame[0].height());
        assertNull(KitPattern.firstDifference(203, 101, KitPattern.pixels(203, 101), frame[0].pixels()));
    }

    /** The guest draws in RGB565: the screen shows each colour's 5/6/5 bits widened back to 8 (GuestPixelFormat). */
    @OnEveryAccelerator
    void rgb565DrawnByTheGuest(Accelerator a) throws Exception {
        Frame[] frame = new Frame[1];
        GuestKit.Run r = boot(a, "kit.tests=ramfb kit.ramfb=160x120 kit.ramfb.format=rgb565", true, frame);
        assertEquals("rgb565", GuestKit.Run.field(r.ok("ramfb"), "format"));
        int[] expected = KitPattern.pixels(160, 120);
        for (int i = 0; i < expected.length; i++) {
            int c = expected[i];
            int raw = ((c >> 19) & 0x1F) << 11 | ((c >> 10) & 0x3F) << 5 | ((c >> 3) & 0x1F);
            expected[i] = GuestPixelFormat.RGB565.toArgb(raw);
        }
        assertEquals(0xFF8200, expected[0] & 0xFFFFFF, "orange, its green cut to 6 bits");
        assertNull(KitPattern.firstDifference(160, 120, expected, frame[0].pixels()));
    }

    @OnEveryAccelerator
    void withoutADisplayThereIsNoRamfbFile(Accelerator a) throws Exception {
        GuestKit.Run r = boot(a, "kit.tests=ramfb", false, new Frame[1]);
        String m = r.marker("ramfb").orElseThrow();
        assertTrue(m.startsWith("KIT ramfb fail no etc/ramfb in the fw_cfg directory (2 files)"), m);
    }
}
