package dev.apiary.vmm.display;

import java.io.ByteArrayOutputStream;
import java.util.zip.Deflater;

/**
 * ZRLE (RFC 6143 §7.7.6) for one connection: one zlib stream for the connection's lifetime (the viewer keeps
 * one inflater), flushed with SYNC_FLUSH after every rectangle. Tiles of 64×64 are sent as a solid colour,
 * as a packed palette (2–16 colours) or raw; run-length subencodings are not produced (zlib already
 * compresses runs well, and the decoder must accept any subencoding anyway).
 */
final class ZrleEncoder implements AutoCloseable {
    static final int TILE = 64;

    private final Deflater deflater = new Deflater(6);
    private final ByteArrayOutputStream tiles = new ByteArrayOutputStream(1 << 16);
    private final byte[] px = new byte[4];
    private final int[] palette = new int[16];
    private final int[] tilePixels = new int[TILE * TILE];
    private final byte[] out = new byte[1 << 16];

    /** The ZRLE payload for a rectangle: the zlib bytes (the caller writes their length before them). */
    byte[] encode(Frame f, int x, int y, int w, int h, RfbPixelFormat pf) {
        tiles.reset();
        for (int ty = y; ty < y + h; ty += TILE) {
            int th = Math.min(TILE, y + h - ty);
            for (int tx = x; tx < x + w; tx += TILE) {
                tile(f, tx, ty, Math.min(TILE, x + w - tx), th, pf);
            }
        }
        byte[] raw = tiles.toByteArray();
        deflater.setInput(raw);
        ByteArrayOutputStream z = new ByteArrayOutputStream(raw.length / 4 + 64);
        int n;
        do {
            n = deflater.deflate(out, 0, out.length, Deflater.SYNC_FLUSH);
            z.write(out, 0, n);
        } while (n == out.length);
        return z.toByteArray();
    }

    private void tile(Frame f, int x, int y, int w, int h, RfbPixelFormat pf) {
        int n = 0;
        int colours = 0;
        for (int j = 0; j < h; j++) {
            int o = (y + j) * f.width() + x;
            for (int i = 0; i < w; i++) {
                int p = pf.pixel(f.pixels()[o + i]);
                tilePixels[n++] = p;
                if (colours <= 16 && indexOf(p, colours) < 0) {
                    if (colours < 16) {
                        palette[colours] = p;
                    }
                    colours++;
                }
            }
        }
        if (colours == 1) {
            tiles.write(1);
            cpixel(palette[0], pf);
        } else if (colours <= 16) {
            tiles.write(colours);
            for (int c = 0; c < colours; c++) {
                cpixel(palette[c], pf);
            }
            int bits = colours == 2 ? 1 : colours <= 4 ? 2 : 4;
            for (int j = 0; j < h; j++) {
                int acc = 0;
                int used = 0;
                for (int i = 0; i < w; i++) {
                    acc = acc << bits | indexOf(tilePixels[j * w + i], colours);
                    used += bits;
                    if (used == 8) {
                        tiles.write(acc);
                        acc = 0;
                        used = 0;
                    }
                }
                if (used > 0) {
                    tiles.write(acc << (8 - used)); // rows are padded to a whole byte
                }
            }
        } else {
            tiles.write(0);
            for (int i = 0; i < n; i++) {
                cpixel(tilePixels[i], pf);
            }
        }
    }

    private int indexOf(int p, int colours) {
        for (int c = 0, m = Math.min(colours, 16); c < m; c++) {
            if (palette[c] == p) {
                return c;
            }
        }
        return -1;
    }

    private void cpixel(int p, RfbPixelFormat pf) {
        pf.put(p, px, 0);
        if (!pf.compactPixel()) {
            tiles.write(px, 0, pf.bytesPerPixel());
            return;
        }
        // Three bytes: the pixel without its unused byte, in the pixel's own byte order.
        boolean dropFirst = pf.compactLow() == pf.bigEndian();
        tiles.write(px, dropFirst ? 1 : 0, 3);
    }

    @Override
    public void close() {
        deflater.end();
    }
}
