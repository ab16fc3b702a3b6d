package dev.apiary.e2e;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The smallest RFB 3.8 viewer a test needs (RFC 6143): security None, the server's pixel format or one it sets,
 * Raw encoding only, one full update. Pixels are kept as the raw values received.
 */
final class RfbViewer implements AutoCloseable {
    private final DataInputStream in;
    private final DataOutputStream out;
    private final AutoCloseable closer;
    int width;
    int height;
    String name;
    int bytesPerPixel = 4;
    boolean bigEndian;
    int[] pixels;

    RfbViewer(InputStream in, OutputStream out, AutoCloseable closer) {
        this.in = new DataInputStream(in);
        this.out = new DataOutputStream(out);
        this.closer = closer;
    }

    /** Version 3.8, security None, shared ClientInit, ServerInit. */
    RfbViewer handshake() throws IOException {
        byte[] v = new byte[12];
        in.readFully(v);
        if (!new String(v, StandardCharsets.US_ASCII).startsWith("RFB 003.")) throw new IOException("not RFB");
        out.write("RFB 003.008\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        int n = in.readUnsignedByte();
        boolean none = false;
        for (int i = 0; i < n; i++) none |= in.readUnsignedByte() == 1;
        if (!none) throw new IOException("security None not offered");
        out.write(1);
        out.flush();
        if (in.readInt() != 0) throw new IOException("security failed");
        out.write(1);
        out.flush();
        width = in.readUnsignedShort();
        height = in.readUnsignedShort();
        in.readFully(new byte[16]);
        byte[] nm = new byte[in.readInt()];
        in.readFully(nm);
        name = new String(nm, StandardCharsets.UTF_8);
        pixels = new int[width * height];
        return this;
    }

    /** SetPixelFormat, true colour. */
    void pixelFormat(int bpp, int depth, boolean big, int rmax, int gmax, int bmax, int rs, int gs, int bs)
            throws IOException {
        out.write(new byte[] {0, 0, 0, 0, (byte) bpp, (byte) depth, (byte) (big ? 1 : 0), 1});
        out.writeShort(rmax);
        out.writeShort(gmax);
        out.writeShort(bmax);
        out.write(new byte[] {(byte) rs, (byte) gs, (byte) bs, 0, 0, 0});
        out.flush();
        bytesPerPixel = bpp / 8;
        bigEndian = big;
    }

    /** SetEncodings [Raw], a non-incremental request for the whole screen, and its update. */
    void readFullScreen() throws IOException {
        out.write(new byte[] {2, 0, 0, 1});
        out.writeInt(0);
        out.write(new byte[] {3, 0, 0, 0, 0, 0});
        out.writeShort(width);
        out.writeShort(height);
        out.flush();
        int covered = 0;
        while (covered < width * height) {
            int type = in.readUnsignedByte();
            if (type != 0) throw new IOException("unexpected server message " + type);
            in.readUnsignedByte();
            int rects = in.readUnsignedShort();
            for (int r = 0; r < rects; r++) {
                int x = in.readUnsignedShort();
                int y = in.readUnsignedShort();
                int w = in.readUnsignedShort();
                int h = in.readUnsignedShort();
                int enc = in.readInt();
                if (enc != 0) throw new IOException("encoding " + enc + " was not asked for");
                byte[] row = new byte[w * bytesPerPixel];
                for (int j = 0; j < h; j++) {
                    in.readFully(row);
                    for (int i = 0; i < w; i++) {
                        int v = 0;
                        for (int b = 0; b < bytesPerPixel; b++) {
                            int byt = row[i * bytesPerPixel + b] & 0xFF;
                            v = bigEndian ? v << 8 | byt : v | byt << (8 * b);
                        }
                        pixels[(y + j) * width + x + i] = v;
                    }
                }
                covered += w * h;
            }
        }
    }

    /** KeyEvent: an X11 keysym pressed or released. */
    void key(int keysym, boolean down) throws IOException {
        out.write(new byte[] {4, (byte) (down ? 1 : 0), 0, 0});
        out.writeInt(keysym);
        out.flush();
    }

    @Override
    public void close() throws Exception {
        closer.close();
    }
}
