package dev.apiary.vmm.display;

/**
 * How the guest lays out pixels in its framebuffer: the DRM fourcc formats ramfb accepts (Linux
 * {@code drm_fourcc.h}: the name lists components from the most significant bit of a little-endian word).
 */
public enum GuestPixelFormat {
    XRGB8888('X', 'R', '2', '4', 4),
    ARGB8888('A', 'R', '2', '4', 4),
    XBGR8888('X', 'B', '2', '4', 4),
    ABGR8888('A', 'B', '2', '4', 4),
    RGB565('R', 'G', '1', '6', 2);

    /** The fourcc code: the four characters, first in the least significant byte. */
    public final int fourcc;
    public final int bytesPerPixel;

    GuestPixelFormat(char a, char b, char c, char d, int bytesPerPixel) {
        this.fourcc = a | b << 8 | c << 16 | d << 24;
        this.bytesPerPixel = bytesPerPixel;
    }

    /** The format with this fourcc, or null. */
    public static GuestPixelFormat ofFourcc(int fourcc) {
        for (GuestPixelFormat f : values()) {
            if (f.fourcc == fourcc) {
                return f;
            }
        }
        return null;
    }

    /** An opaque ARGB colour from a pixel read as a little-endian word (alpha is not shown: a screen is opaque). */
    public int toArgb(int raw) {
        return switch (this) {
            case XRGB8888, ARGB8888 -> 0xFF00_0000 | raw;
            case XBGR8888, ABGR8888 -> 0xFF00_0000 | (raw & 0xFF) << 16 | (raw & 0xFF00) | (raw >>> 16) & 0xFF;
            case RGB565 -> {
                int r = (raw >>> 11) & 0x1F;
                int g = (raw >>> 5) & 0x3F;
                int b = raw & 0x1F;
                yield 0xFF00_0000 | (r << 3 | r >>> 2) << 16 | (g << 2 | g >>> 4) << 8 | (b << 3 | b >>> 2);
            }
        };
    }
}
