package dev.apiary.vmm.display;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Screenshots as PNG (ISO/IEC 15948): 8-bit RGB (colour type 2), one IDAT, each row with the Sub filter (the
 * framebuffer is mostly flat colour, which Sub turns into runs of zeros). Only java.util.zip.
 */
public final class Png {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private Png() {}

    public static byte[] encode(Frame f) {
        return encode(f.width(), f.height(), f.pixels());
    }

    /** @param argb row-major pixels; alpha is ignored */
    public static byte[] encode(int width, int height, int[] argb) {
        byte[] raw = new byte[height * (1 + 3 * width)];
        int p = 0;
        for (int y = 0; y < height; y++) {
            raw[p++] = 1; // filter type Sub: each byte minus the same channel of the pixel to its left
            int prev = 0;
            for (int x = 0; x < width; x++) {
                int c = argb[y * width + x];
                raw[p++] = (byte) ((c >>> 16) - (prev >>> 16));
                raw[p++] = (byte) ((c >>> 8) - (prev >>> 8));
                raw[p++] = (byte) (c - prev);
                prev = c;
            }
        }
        Deflater d = new Deflater(6);
        d.setInput(raw);
        d.finish();
        ByteArrayOutputStream z = new ByteArrayOutputStream(raw.length / 8 + 64);
        byte[] buf = new byte[65536];
        while (!d.finished()) {
            int n = d.deflate(buf);
            z.write(buf, 0, n);
        }
        d.end();
        ByteArrayOutputStream out = new ByteArrayOutputStream(z.size() + 64);
        out.writeBytes(SIGNATURE);
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IDAT", z.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(t);
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
