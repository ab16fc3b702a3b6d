package dev.apiary.vmm.display;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.util.Arrays;

/**
 * The guest's screen as the host sees it. The pixels live in guest RAM where the guest put them (a
 * {@link Surface}, set by {@link Ramfb}); both the software CPU and KVM write RAM directly, so there is no write
 * trap to say what changed. {@link #capture()} renders the current picture and finds the changed 64×64 tiles by
 * comparing with the previous capture; every viewer takes captures at its own pace and sends the tiles that
 * changed since its last one, so a slow viewer skips intermediate pictures and never holds up the guest.
 *
 * <p>Before the guest configures a surface (and after a reset) the screen is black at the configured size.
 */
public final class Framebuffer {
    public static final int TILE = 64;

    private final GuestMemory memory;
    private final int defaultWidth;
    private final int defaultHeight;
    private volatile Surface surface;
    /** What the machine set up before the guest runs (the direct-boot linear framebuffer), or null. */
    private volatile Surface bootSurface;
    private Frame last;
    private long generation;
    private byte[] row = new byte[0];

    public Framebuffer(GuestMemory memory, int defaultWidth, int defaultHeight) {
        this.memory = memory;
        this.defaultWidth = defaultWidth;
        this.defaultHeight = defaultHeight;
    }

    /** What the guest configured, or null (black screen of the default size). */
    public Surface surface() {
        return surface;
    }

    /** Shows {@code s} from the next capture on; it must lie in guest RAM (callers check it). */
    public void setSurface(Surface s) {
        surface = s;
    }

    public int width() {
        Surface s = surface;
        return s == null ? defaultWidth : s.width();
    }

    public int height() {
        Surface s = surface;
        return s == null ? defaultHeight : s.height();
    }

    /** The current picture, with the tiles that differ from the previous capture stamped with a new generation. */
    public synchronized Frame capture() {
        Surface s = surface;
        int w = s == null ? defaultWidth : s.width();
        int h = s == null ? defaultHeight : s.height();
        int[] px = new int[w * h];
        if (s == null) {
            Arrays.fill(px, 0xFF00_0000);
        } else {
            render(s, px);
        }
        long gen = ++generation;
        int tx = (w + TILE - 1) / TILE;
        int ty = (h + TILE - 1) / TILE;
        long[] tiles = new long[tx * ty];
        Frame prev = last;
        boolean sameSize = prev != null && prev.width() == w && prev.height() == h;
        for (int j = 0; j < ty; j++) {
            for (int i = 0; i < tx; i++) {
                int t = j * tx + i;
                tiles[t] = sameSize && tileEquals(prev.pixels(), px, w, h, i, j) ? prev.tileGeneration()[t] : gen;
            }
        }
        Frame f = new Frame(w, h, px, gen, tiles);
        last = f;
        return f;
    }

    private static boolean tileEquals(int[] a, int[] b, int w, int h, int i, int j) {
        int x0 = i * TILE;
        int x1 = Math.min(w, x0 + TILE);
        int y1 = Math.min(h, (j + 1) * TILE);
        for (int y = j * TILE; y < y1; y++) {
            int o = y * w;
            if (Arrays.mismatch(a, o + x0, o + x1, b, o + x0, o + x1) >= 0) {
                return false;
            }
        }
        return true;
    }

    private void render(Surface s, int[] px) {
        int bpp = s.format().bytesPerPixel;
        int rowBytes = s.width() * bpp;
        if (row.length < rowBytes) {
            row = new byte[rowBytes];
        }
        byte[] r = row;
        for (int y = 0; y < s.height(); y++) {
            int o = y * s.width();
            try {
                memory.read(s.address() + (long) y * s.stride(), r, 0, rowBytes);
            } catch (GuestMemoryException e) {
                Arrays.fill(px, o, o + s.width(), 0xFF00_0000); // cannot happen: the surface was checked
                continue;
            }
            if (bpp == 4) {
                for (int x = 0, b = 0; x < s.width(); x++, b += 4) {
                    int raw = (r[b] & 0xFF) | (r[b + 1] & 0xFF) << 8 | (r[b + 2] & 0xFF) << 16 | (r[b + 3] & 0xFF) << 24;
                    px[o + x] = s.format().toArgb(raw);
                }
            } else {
                for (int x = 0, b = 0; x < s.width(); x++, b += 2) {
                    px[o + x] = s.format().toArgb((r[b] & 0xFF) | (r[b + 1] & 0xFF) << 8);
                }
            }
        }
    }

    /**
     * The picture the screen shows from power-on and after every reset until the guest configures another (the
     * linear framebuffer described to a directly booted kernel); it must lie in guest RAM (callers check it).
     */
    public void setBootSurface(Surface s) {
        bootSurface = s;
        surface = s;
    }

    /** Back to the boot surface, or to the black screen without one (machine reset). */
    public void reset() {
        surface = bootSurface;
    }
}
