package dev.apiary.vmm.display;

/**
 * Where the guest's picture is: {@code height} rows of {@code width} pixels in {@code format}, row {@code y}
 * at guest-physical {@code address + y * stride}. Checked against guest RAM when it is set.
 */
public record Surface(long address, GuestPixelFormat format, int width, int height, int stride) {
    /** Bytes from the first pixel to just after the last. */
    public long span() {
        return (long) stride * (height - 1) + (long) width * format.bytesPerPixel;
    }
}
