package dev.apiary.vmm.display;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.fwcfg.FwCfg;
import dev.apiary.vmm.memory.GuestMemory;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** ramfb configured through fw_cfg DMA as a guest does it, the framebuffer's captures, tiles and PNGs. */
class FramebufferTest {
    private static final long RAM = 32L << 20;
    private static final long FB = 0x400000;
    private static final long DESC = 0x1000;
    private static final long CFG = 0x2000;

    private GuestMemory mem;
    private Bus ports;
    private Framebuffer fb;
    private FwCfg fw;

    @BeforeEach
    void setUp() {
        mem = GuestMemory.allocate(0, RAM);
        ports = new Bus("port");
        fw = new FwCfg(mem);
        fw.attach(ports);
        fb = new Framebuffer(mem, 640, 480);
        new Ramfb(mem, fb).attach(fw);
    }

    private int ramfbKey() {
        ports.write(0x510, 2, FwCfg.FILE_DIR);
        byte[] dir = new byte[4 + 64];
        for (int i = 0; i < dir.length; i++) {
            dir[i] = (byte) ports.read(0x511, 1);
        }
        ByteBuffer b = ByteBuffer.wrap(dir);
        assertEquals(1, b.getInt());
        assertEquals(Ramfb.CONFIG_SIZE, b.getInt());
        int key = b.getShort() & 0xFFFF;
        assertEquals(Ramfb.FILE, new String(dir, 12, Ramfb.FILE.length(), StandardCharsets.US_ASCII));
        return key;
    }

    /** Writes RAMFBCfg with a DMA write, as QemuRamfbDxe does; returns the control word after the transfer. */
    private int configure(long addr, GuestPixelFormat f, int w, int h, int stride) throws Exception {
        ByteBuffer c = ByteBuffer.allocate(28).putLong(addr).putInt(f.fourcc).putInt(0).putInt(w).putInt(h).putInt(stride);
        mem.write(CFG, c.array());
        ByteBuffer d = ByteBuffer.allocate(16).putInt(ramfbKey() << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE)
                .putInt(28).putLong(CFG);
        mem.write(DESC, d.array());
        ports.write(0x514, 4, 0);
        ports.write(0x518, 4, Integer.reverseBytes((int) DESC) & 0xFFFF_FFFFL);
        return Integer.reverseBytes(mem.read32(DESC));
    }

    @Test
    void blackAtTheConfiguredSizeUntilTheGuestSetsASurface() {
        Frame f = fb.capture();
        assertEquals(640, f.width());
        assertEquals(480, f.height());
        for (int p : f.pixels()) {
            assertEquals(0xFF000000, p);
        }
    }

    @Test
    void xrgbSurfaceRendersAndTracksChangedTiles() throws Exception {
        int w = 200;
        int h = 100;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                mem.write32(FB + 4L * (y * w + x), x * 0x010203 + y);
            }
        }
        assertEquals(0, configure(FB, GuestPixelFormat.XRGB8888, w, h, 0));
        Frame f1 = fb.capture();
        assertEquals(w, f1.width());
        assertEquals(h, f1.height());
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                assertEquals(0xFF000000 | ((x * 0x010203 + y) & 0xFFFFFF), f1.pixel(x, y), x + "," + y);
            }
        }
        assertEquals(4 * 2, f1.tileGeneration().length);
        Frame f2 = fb.capture();
        assertArrayEquals(f1.tileGeneration(), f2.tileGeneration(), "nothing changed");
        mem.write32(FB + 4L * (70 * w + 150), 0x00FF0000); // tile (2, 1)
        Frame f3 = fb.capture();
        for (int t = 0; t < 8; t++) {
            if (t == 1 * 4 + 2) {
                assertEquals(f3.generation(), f3.tileGeneration()[t]);
            } else {
                assertEquals(f1.tileGeneration()[t], f3.tileGeneration()[t], "tile " + t);
            }
        }
        assertEquals(0xFFFF0000, f3.pixel(150, 70));
    }

    @Test
    void xbgrAnd565AndStride() throws Exception {
        mem.write32(FB, 0x00112233);
        assertEquals(0, configure(FB, GuestPixelFormat.XBGR8888, 64, 64, 4096));
        assertEquals(0xFF332211, fb.capture().pixel(0, 0));
        mem.write32(FB + 4096, 0x00445566);
        assertEquals(0xFF665544, fb.capture().pixel(0, 1), "row 1 is a stride further");
        mem.write16(FB, (short) 0xF800);
        mem.write16(FB + 2, (short) 0x07E0);
        mem.write16(FB + 4, (short) 0x001F);
        assertEquals(0, configure(FB, GuestPixelFormat.RGB565, 64, 64, 0));
        Frame f = fb.capture();
        assertEquals(0xFFFF0000, f.pixel(0, 0));
        assertEquals(0xFF00FF00, f.pixel(1, 0));
        assertEquals(0xFF0000FF, f.pixel(2, 0));
    }

    @Test
    void badConfigurationsAreIgnored() throws Exception {
        assertEquals(0, configure(FB, GuestPixelFormat.XRGB8888, 100, 100, 0));
        Surface good = fb.surface();
        assertNotNull(good);
        configure(RAM - 100, GuestPixelFormat.XRGB8888, 100, 100, 0); // outside RAM
        configure(FB, GuestPixelFormat.XRGB8888, 0, 100, 0);
        configure(FB, GuestPixelFormat.XRGB8888, 100, Ramfb.MAX_SIZE + 1, 0);
        configure(FB, GuestPixelFormat.XRGB8888, 100, 100, 399); // stride < width * 4
        configure(FB, GuestPixelFormat.XRGB8888, 100, 100, -4);
        configure(-4096L, GuestPixelFormat.XRGB8888, 100, 100, 0);
        configure(FB, GuestPixelFormat.XRGB8888, -1, -1, -1);
        byte[] c = ByteBuffer.allocate(28).putLong(FB).putInt(0x12345678).putInt(0).putInt(10).putInt(10).putInt(0).array();
        Ramfb r = new Ramfb(mem, fb);
        assertNull(r.configure(c), "unknown fourcc");
        assertEquals(good, fb.surface());
    }

    @Test
    void pngDecodesToTheSamePixels() throws Exception {
        int w = 130;
        int h = 70;
        int[] px = new int[w * h];
        for (int i = 0; i < px.length; i++) {
            px[i] = 0xFF000000 | (i * 2654435761L > 0 ? (int) (i * 2654435761L) : i) & 0xFFFFFF;
        }
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(Png.encode(w, h, px)));
        assertEquals(w, img.getWidth());
        assertEquals(h, img.getHeight());
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                assertEquals(px[y * w + x], img.getRGB(x, y), x + "," + y);
            }
        }
    }

    @Test
    void fourccsAreDrmCodes() {
        assertEquals(0x34325258, GuestPixelFormat.XRGB8888.fourcc); // 'XR24'
        assertEquals(0x34324258, GuestPixelFormat.XBGR8888.fourcc);
        assertEquals(0x36314752, GuestPixelFormat.RGB565.fourcc);
    }
}
