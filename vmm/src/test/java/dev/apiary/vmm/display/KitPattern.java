package dev.apiary.vmm.display;

/** The guest kit's ramfb test pattern (guestkit/src/display.c), computed the same way. */
public final class KitPattern {
    private static final int[] BARS = {0xFFFFFF, 0xFFFF00, 0x00FFFF, 0x00FF00, 0xFF00FF, 0xFF0000, 0x0000FF, 0x000000};
    public static final int DIAGONAL = 0xFF8000;

    private KitPattern() {}

    /** Opaque ARGB, row-major. */
    public static int[] pixels(int w, int h) {
        int[] px = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int i = 0; i < 8; i++) {
                int x0 = (int) ((long) i * w / 8);
                int x1 = (int) ((long) (i + 1) * w / 8);
                for (int x = x0; x < x1; x++) {
                    px[y * w + x] = 0xFF000000 | BARS[i];
                }
            }
            px[y * w + (int) ((long) y * w / h)] = 0xFF000000 | DIAGONAL;
        }
        return px;
    }

    /** The first differing pixel as "x,y: expected/actual", or null when equal. */
    public static String firstDifference(int w, int h, int[] expected, int[] actual) {
        for (int i = 0; i < w * h; i++) {
            if (expected[i] != actual[i]) {
                return String.format("%d,%d: expected %08x, got %08x", i % w, i / w, expected[i], actual[i]);
            }
        }
        return null;
    }
}
