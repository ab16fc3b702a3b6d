package dev.apiary.vmm.display;

import java.nio.ByteBuffer;

/**
 * An RFB PIXEL_FORMAT (RFC 6143 §7.4): how a viewer wants pixels. Only true-colour formats are served; every
 * true-colour format is: 8, 16 or 32 bits per pixel, any maxima and shifts, either byte order. A colour
 * channel is scaled from 8 bits to {@code 0..max} and placed at its shift, so a viewer asking for X-B-G-R
 * gets blue in the low byte and red in the third — red and blue are never swapped by assuming a layout.
 */
public record RfbPixelFormat(int bitsPerPixel, int depth, boolean bigEndian, boolean trueColour,
        int redMax, int greenMax, int blueMax, int redShift, int greenShift, int blueShift) {
    /** What the server offers in ServerInit: 32 bpp, depth 24, little-endian X-R-G-B (the guest's native layout). */
    public static final RfbPixelFormat NATIVE = new RfbPixelFormat(32, 24, false, true, 255, 255, 255, 16, 8, 0);

    public static RfbPixelFormat read(ByteBuffer b) {
        int bpp = b.get() & 0xFF;
        int depth = b.get() & 0xFF;
        boolean be = b.get() != 0;
        boolean tc = b.get() != 0;
        int rm = b.getShort() & 0xFFFF;
        int gm = b.getShort() & 0xFFFF;
        int bm = b.getShort() & 0xFFFF;
        int rs = b.get() & 0xFF;
        int gs = b.get() & 0xFF;
        int bs = b.get() & 0xFF;
        b.position(b.position() + 3);
        return new RfbPixelFormat(bpp, depth, be, tc, rm, gm, bm, rs, gs, bs);
    }

    public void write(ByteBuffer b) {
        b.put((byte) bitsPerPixel).put((byte) depth).put((byte) (bigEndian ? 1 : 0)).put((byte) (trueColour ? 1 : 0))
                .putShort((short) redMax).putShort((short) greenMax).putShort((short) blueMax)
                .put((byte) redShift).put((byte) greenShift).put((byte) blueShift).put(new byte[3]);
    }

    /** Why the server cannot send this format, or null when it can. */
    public String problem() {
        if (bitsPerPixel != 8 && bitsPerPixel != 16 && bitsPerPixel != 32) {
            return "bits-per-pixel " + bitsPerPixel + " (must be 8, 16 or 32)";
        }
        if (!trueColour) {
            return "colour-map formats are not supported";
        }
        if (redShift >= bitsPerPixel || greenShift >= bitsPerPixel || blueShift >= bitsPerPixel) {
            return "a colour shift is beyond bits-per-pixel";
        }
        return null;
    }

    public int bytesPerPixel() {
        return bitsPerPixel / 8;
    }

    /** The pixel value for an ARGB colour (bits above bits-per-pixel are cut off). */
    public int pixel(int argb) {
        int v = scale((argb >>> 16) & 0xFF, redMax) << redShift
                | scale((argb >>> 8) & 0xFF, greenMax) << greenShift
                | scale(argb & 0xFF, blueMax) << blueShift;
        return bitsPerPixel == 32 ? v : v & ((1 << bitsPerPixel) - 1);
    }

    /** 0..255 to 0..max, rounded to nearest. */
    private static int scale(int c, int max) {
        return max == 255 ? c : (c * max + 127) / 255;
    }

    /** Writes a pixel value in this format's byte order; returns the next offset. */
    public int put(int pixel, byte[] out, int off) {
        int n = bytesPerPixel();
        for (int i = 0; i < n; i++) {
            int shift = bigEndian ? 8 * (n - 1 - i) : 8 * i;
            out[off + i] = (byte) (pixel >>> shift);
        }
        return off + n;
    }

    /** The ARGB colour (opaque) a pixel value stands for: what a viewer shows (used by tests and decoders). */
    public int toArgb(int pixel) {
        return 0xFF000000 | unscale((pixel >>> redShift) & redMax, redMax) << 16
                | unscale((pixel >>> greenShift) & greenMax, greenMax) << 8 | unscale((pixel >>> blueShift) & blueMax, blueMax);
    }

    private static int unscale(int v, int max) {
        return max == 0 ? 0 : (v * 255 + max / 2) / max;
    }

    /**
     * Whether ZRLE sends this format's pixels as 3-byte CPIXELs (RFC 6143 §7.7.6: true colour, 32 bpp,
     * depth ≤ 24 and all colour bits within the least or the most significant three bytes).
     */
    public boolean compactPixel() {
        if (bitsPerPixel != 32 || depth > 24 || !trueColour) {
            return false;
        }
        long mask = ((long) redMax << redShift | (long) greenMax << greenShift | (long) blueMax << blueShift) & 0xFFFF_FFFFL;
        return (mask & 0xFF00_0000L) == 0 || (mask & 0xFFL) == 0;
    }

    /** For a compact pixel: true when the colour bits are in the low three bytes (else the high three). */
    public boolean compactLow() {
        long mask = ((long) redMax << redShift | (long) greenMax << greenShift | (long) blueMax << blueShift) & 0xFFFF_FFFFL;
        return (mask & 0xFF00_0000L) == 0;
    }
}
