package dev.apiary.vmm.display;

/**
 * One captured picture: opaque ARGB pixels, row-major, and per 64×64 tile the capture generation in which that
 * tile last changed ({@link Framebuffer#TILE}). A client that has sent generation {@code g} of a tile needs it
 * again when {@code tileGeneration[t] > g}. Never modified after capture.
 */
public record Frame(int width, int height, int[] pixels, long generation, long[] tileGeneration) {
    public int tilesX() {
        return (width + Framebuffer.TILE - 1) / Framebuffer.TILE;
    }

    public int tilesY() {
        return (height + Framebuffer.TILE - 1) / Framebuffer.TILE;
    }

    public int pixel(int x, int y) {
        return pixels[y * width + x];
    }
}
