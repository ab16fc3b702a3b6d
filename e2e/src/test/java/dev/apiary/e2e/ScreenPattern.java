package dev.apiary.e2e;

/**
 * The guest kit's ramfb test pattern (guestkit/src/display.c, also computed by the VMM's own tests): eight vertical
 * bars and an orange diagonal from the top-left corner.
 */
final class ScreenPattern {
    static final int[] BARS = {0xFFFFFF, 0xFFFF00, 0x00FFFF, 0x00FF00, 0xFF00FF, 0xFF0000, 0x0000FF, 0x000000};
    static final int DIAGONAL = 0xFF8000;

    private ScreenPattern() {}

    /** Opaque ARGB, row-major. */
    static int[] pixels(int w, int h) {
        int[] px = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                px[y * w + x] = 0xFF000000 | BARS[(int) ((long) x * 8 / w)];
            }
            px[y * w + (int) ((long) y * w / h)] = 0xFF000000 | DIAGONAL;
        }
        return px;
    }

    /** The first differing pixel as "x,y: expected/actual" (alpha ignored), or null when equal. */
    static String firstDifference(int w, int h, int[] expected, int[] actual) {
        for (int i = 0; i < w * h; i++) {
            if ((expected[i] & 0xFFFFFF) != (actual[i] & 0xFFFFFF)) {
                return String.format("%d,%d: expected %06x, got %06x", i % w, i / w, expected[i] & 0xFFFFFF,
                        actual[i] & 0xFFFFFF);
            }
        }
        return null;
    }

    /**
     * For lossy pictures (JPEG): every bar's colour within {@code tolerance} per channel at the bar's middle column,
     * on rows away from the diagonal; null when it holds, else what is off.
     */
    static String barsDifference(int w, int h, int[] argb, int tolerance) {
        for (int i = 0; i < 8; i++) {
            int x = (int) ((2L * i + 1) * w / 16);
            for (int y = 0; y < h; y += 7) {
                int diagonalX = (int) ((long) y * w / h);
                if (Math.abs(diagonalX - x) < 8) continue;
                int got = argb[y * w + x];
                for (int shift = 0; shift <= 16; shift += 8) {
                    int e = (BARS[i] >> shift) & 0xFF;
                    int g = (got >> shift) & 0xFF;
                    if (Math.abs(e - g) > tolerance) {
                        return String.format("bar %d at %d,%d: expected %06x, got %06x", i, x, y, BARS[i], got & 0xFFFFFF);
                    }
                }
            }
        }
        return null;
    }

    /**
     * Where the whole {@code w}×{@code h} pattern appears pixel for pixel in a bigger picture (a screenshot of a page
     * showing the screen at 1:1): "x,y", or null when it is nowhere. Candidates are found by the diagonal's start.
     */
    static String locate(int[] argb, int iw, int ih, int w, int h) {
        int[] expected = pixels(w, h);
        int orange = 0xFF000000 | DIAGONAL;
        int white = 0xFFFFFFFF;
        for (int y = 0; y + h <= ih; y++) {
            for (int x = 0; x + w <= iw; x++) {
                if ((argb[y * iw + x] | 0xFF000000) != orange || (argb[y * iw + x + 1] | 0xFF000000) != white
                        || (argb[(y + 1) * iw + x] | 0xFF000000) != white) {
                    continue;
                }
                boolean all = true;
                for (int j = 0; j < h && all; j++) {
                    for (int i = 0; i < w; i++) {
                        if (((argb[(y + j) * iw + x + i] ^ expected[j * w + i]) & 0xFFFFFF) != 0) {
                            all = false;
                            break;
                        }
                    }
                }
                if (all) return x + "," + y;
            }
        }
        return null;
    }
}
