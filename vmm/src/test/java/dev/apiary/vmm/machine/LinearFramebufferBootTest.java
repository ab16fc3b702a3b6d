package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.boot.BootImageException;
import dev.apiary.vmm.display.Frame;
import dev.apiary.vmm.display.KitPattern;

/**
 * The direct-boot linear framebuffer: the guest kit reads boot_params.screen_info (VIDEO_TYPE_VLFB, 32 bpp X-R-G-B),
 * checks that e820 keeps it out of RAM, and draws its pattern there; the screenshot matches it pixel for pixel.
 */
class LinearFramebufferBootTest {
    private static final long MiB = 1L << 20;

    @OnEveryAccelerator
    void theKitDrawsIntoTheFramebufferScreenInfoDescribes(Accelerator a) throws Exception {
        MachineConfig cfg = GuestKit.config(a, 1, 64 * MiB, "kit.tests=e820,lfb", RebootPolicy.Stop)
                .withDisplay(new MachineConfig.Display(640, 480, true));
        Frame[] frame = new Frame[1];
        GuestKit.Run r = GuestKit.boot(cfg, 300, m -> m.chipset().framebuffer().ifPresent(fb -> frame[0] = fb.capture()));
        String ok = r.ok("lfb");
        assertEquals("640", GuestKit.Run.field(ok, "w"));
        assertEquals("480", GuestKit.Run.field(ok, "h"));
        assertEquals("2560", GuestKit.Run.field(ok, "line"));
        // 1200 KiB rounded up to 64 KiB, 1 MiB aligned below the top of the 64 MiB: at 62 MiB.
        assertEquals("0x3e00000", GuestKit.Run.field(ok, "base"));
        r.ok("e820");
        assertEquals(640, frame[0].width());
        assertEquals(480, frame[0].height());
        assertNull(KitPattern.firstDifference(640, 480, KitPattern.pixels(640, 480), frame[0].pixels()));
    }

    @OnEveryAccelerator
    void withoutADisplayThereIsNoScreenInfo(Accelerator a) throws Exception {
        GuestKit.Run r = GuestKit.boot(GuestKit.config(a, 1, 64 * MiB, "kit.tests=lfb", RebootPolicy.Stop), 300, m -> { });
        String m = r.marker("lfb").orElseThrow();
        assertTrue(m.startsWith("KIT lfb fail orig_video_isVGA=0x0"), m);
    }

    @OnEveryAccelerator
    void aScreenTooLargeForTheVmsMemoryIsRefusedWithItsReason(Accelerator a) {
        MachineConfig cfg = GuestKit.config(a, 1, 64 * MiB, "kit.tests=lfb", RebootPolicy.Stop)
                .withDisplay(new MachineConfig.Display(4096, 4096, true));
        BootImageException e = assertThrows(BootImageException.class, () -> Machine.create(cfg).close());
        assertTrue(e.getMessage().startsWith("spec.display: a 4096x4096 screen needs 64 MiB of framebuffer"), e.getMessage());
    }
}
