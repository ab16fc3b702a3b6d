package dev.apiary.vmm.display;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * A small RFB viewer for tests, written from RFC 6143 independently of the server: it keeps the raw pixel
 * values it receives (in the format it asked for) and decodes Raw and every ZRLE subencoding.
 */
public final class RfbTestClient implements AutoCloseable {
    /** The TCP socket (null for a client on a Unix socket). */
    public final Socket socket;
    private final Closeable connection;
    public final DataInputStream in;
    public final DataOutputStream out;
    public String serverVersion;
    public int width;
    public int height;
    public byte[] serverFormat = new byte[16];
    public String name;
    /** Raw pixel values as received, row-major. */
    public int[] pixels;
    public int bpp = 32;
    public boolean bigEndian;
    private final Inflater inflater = new Inflater();

    /** One rectangle of the last update: position, size, encoding. */
    public record Rect(int x, int y, int w, int h, int encoding) {}

    public RfbTestClient(InetSocketAddress addr) throws IOException {
        socket = new Socket(addr.getAddress(), addr.getPort());
        socket.setSoTimeout(60_000); // a broken server fails the test instead of hanging it
        connection = socket;
        in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
        out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
    }

    /** A viewer on a Unix domain socket ({@code vnc.sock} of {@code vmm launch}). */
    public RfbTestClient(Path unixSocket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(unixSocket));
        socket = null;
        connection = ch;
        in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(ch), 1 << 16));
        out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(ch)));
    }

    /** Version exchange; returns the security types offered (3.7/3.8) or the one chosen by the server (3.3). */
    public List<Integer> version(String clientVersion) throws IOException {
        byte[] v = new byte[12];
        in.readFully(v);
        serverVersion = new String(v, StandardCharsets.US_ASCII);
        out.write(clientVersion.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        List<Integer> types = new ArrayList<>();
        if (clientVersion.equals("RFB 003.003\n")) {
            types.add(in.readInt());
        } else {
            int n = in.readUnsignedByte();
            for (int i = 0; i < n; i++) {
                types.add(in.readUnsignedByte());
            }
        }
        return types;
    }

    /** Answers a VNC Authentication challenge (DES, key bits reversed per byte). */
    public void vncAuth(String password) throws Exception {
        byte[] challenge = new byte[16];
        in.readFully(challenge);
        byte[] key = new byte[8];
        byte[] p = password.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 8 && i < p.length; i++) {
            int b = p[i] & 0xFF;
            int r = 0;
            for (int k = 0; k < 8; k++) {
                r |= ((b >> k) & 1) << (7 - k);
            }
            key[i] = (byte) r;
        }
        Cipher c = Cipher.getInstance("DES/ECB/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "DES"));
        out.write(c.doFinal(challenge));
        out.flush();
    }

    /** The whole 3.8 handshake with security None, through ServerInit. */
    public RfbTestClient connect() throws IOException {
        version("RFB 003.008\n");
        out.write(1);
        out.flush();
        if (in.readInt() != 0) {
            throw new IOException("security failed");
        }
        init();
        return this;
    }

    public void init() throws IOException {
        out.write(1); // shared
        out.flush();
        width = in.readUnsignedShort();
        height = in.readUnsignedShort();
        in.readFully(serverFormat);
        byte[] n = new byte[in.readInt()];
        in.readFully(n);
        name = new String(n, StandardCharsets.UTF_8);
        pixels = new int[width * height];
    }

    public void setPixelFormat(int bpp, int depth, boolean bigEndian, int rmax, int gmax, int bmax, int rs, int gs, int bs)
            throws IOException {
        this.bpp = bpp;
        this.bigEndian = bigEndian;
        out.write(new byte[] {0, 0, 0, 0, (byte) bpp, (byte) depth, (byte) (bigEndian ? 1 : 0), 1});
        out.writeShort(rmax);
        out.writeShort(gmax);
        out.writeShort(bmax);
        out.write(new byte[] {(byte) rs, (byte) gs, (byte) bs, 0, 0, 0});
        out.flush();
    }

    public void setEncodings(int... encodings) throws IOException {
        out.write(2);
        out.write(0);
        out.writeShort(encodings.length);
        for (int e : encodings) {
            out.writeInt(e);
        }
        out.flush();
    }

    public void request(boolean incremental, int x, int y, int w, int h) throws IOException {
        out.write(3);
        out.write(incremental ? 1 : 0);
        out.writeShort(x);
        out.writeShort(y);
        out.writeShort(w);
        out.writeShort(h);
        out.flush();
    }

    public void requestAll(boolean incremental) throws IOException {
        request(incremental, 0, 0, width, height);
    }

    public void key(int keysym, boolean down) throws IOException {
        out.write(4);
        out.write(down ? 1 : 0);
        out.writeShort(0);
        out.writeInt(keysym);
        out.flush();
    }

    public void pointer(int buttons, int x, int y) throws IOException {
        out.write(5);
        out.write(buttons);
        out.writeShort(x);
        out.writeShort(y);
        out.flush();
    }

    /** Reads one FramebufferUpdate into {@link #pixels}; returns its rectangles. */
    public List<Rect> readUpdate() throws IOException {
        int type = in.readUnsignedByte();
        if (type != 0) {
            throw new IOException("expected FramebufferUpdate, got message " + type);
        }
        in.readUnsignedByte();
        int n = in.readUnsignedShort();
        List<Rect> rects = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Rect r = new Rect(in.readUnsignedShort(), in.readUnsignedShort(), in.readUnsignedShort(),
                    in.readUnsignedShort(), in.readInt());
            rects.add(r);
            switch (r.encoding()) {
                case 0 -> raw(r);
                case 16 -> zrle(r);
                case -223 -> {
                    width = r.w();
                    height = r.h();
                    pixels = new int[width * height];
                }
                default -> throw new IOException("unexpected encoding " + r.encoding());
            }
        }
        return rects;
    }

    private int readPixel(DataInputStream s, int bytes) throws IOException {
        int v = 0;
        for (int i = 0; i < bytes; i++) {
            int b = s.readUnsignedByte();
            v = bigEndian ? v << 8 | b : v | b << (8 * i);
        }
        return v;
    }

    private void raw(Rect r) throws IOException {
        for (int y = r.y(); y < r.y() + r.h(); y++) {
            for (int x = r.x(); x < r.x() + r.w(); x++) {
                pixels[y * width + x] = readPixel(in, bpp / 8);
            }
        }
    }

    /** CPIXEL size: 3 when true colour 32 bpp depth ≤ 24 and colours fit in 3 bytes — we always ask depth 24. */
    public int cpixelBytes = -1;

    private int readCpixel(DataInputStream s) throws IOException {
        int n = cpixelBytes > 0 ? cpixelBytes : bpp / 8;
        if (n == 3) {
            int b0 = s.readUnsignedByte();
            int b1 = s.readUnsignedByte();
            int b2 = s.readUnsignedByte();
            // the three bytes kept, in the pixel's byte order; where they sit is given by cpixelHigh
            int v = bigEndian ? b0 << 16 | b1 << 8 | b2 : b0 | b1 << 8 | b2 << 16;
            return cpixelHigh ? v << 8 : v;
        }
        return readPixel(s, n);
    }

    /** For 3-byte CPIXELs: the colour bits are in the high three bytes of the pixel. */
    public boolean cpixelHigh;

    private void zrle(Rect r) throws IOException {
        byte[] z = new byte[in.readInt()];
        in.readFully(z);
        inflater.setInput(z);
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        byte[] tmp = new byte[65536];
        try {
            int k;
            while ((k = inflater.inflate(tmp)) > 0) {
                buf.write(tmp, 0, k);
            }
        } catch (DataFormatException e) {
            throw new IOException(e);
        }
        DataInputStream s = new DataInputStream(new ByteArrayInputStream(buf.toByteArray()));
        for (int ty = r.y(); ty < r.y() + r.h(); ty += 64) {
            int th = Math.min(64, r.y() + r.h() - ty);
            for (int tx = r.x(); tx < r.x() + r.w(); tx += 64) {
                int tw = Math.min(64, r.x() + r.w() - tx);
                tile(s, tx, ty, tw, th);
            }
        }
        if (s.available() != 0) {
            throw new IOException(s.available() + " bytes left after the ZRLE tiles");
        }
    }

    private void tile(DataInputStream s, int x, int y, int w, int h) throws IOException {
        int sub = s.readUnsignedByte();
        int[] t = new int[w * h];
        if (sub == 0) {
            for (int i = 0; i < t.length; i++) {
                t[i] = readCpixel(s);
            }
        } else if (sub == 1) {
            java.util.Arrays.fill(t, readCpixel(s));
        } else if (sub <= 16) {
            int[] pal = new int[sub];
            for (int i = 0; i < sub; i++) {
                pal[i] = readCpixel(s);
            }
            int bits = sub == 2 ? 1 : sub <= 4 ? 2 : 4;
            for (int j = 0; j < h; j++) {
                int acc = 0;
                int have = 0;
                for (int i = 0; i < w; i++) {
                    if (have == 0) {
                        acc = s.readUnsignedByte();
                        have = 8;
                    }
                    have -= bits;
                    t[j * w + i] = pal[(acc >> have) & ((1 << bits) - 1)];
                }
            }
        } else if (sub == 128 || sub >= 130) {
            int[] pal = new int[sub == 128 ? 0 : sub - 128];
            for (int i = 0; i < pal.length; i++) {
                pal[i] = readCpixel(s);
            }
            int i = 0;
            while (i < t.length) {
                int v;
                int run = 1;
                if (sub == 128) {
                    v = readCpixel(s);
                    run = runLength(s);
                } else {
                    int idx = s.readUnsignedByte();
                    v = pal[idx & 0x7F];
                    if ((idx & 0x80) != 0) {
                        run = runLength(s);
                    }
                }
                for (int k = 0; k < run; k++) {
                    t[i++] = v;
                }
            }
        } else {
            throw new IOException("bad ZRLE subencoding " + sub);
        }
        for (int j = 0; j < h; j++) {
            System.arraycopy(t, j * w, pixels, (y + j) * width + x, w);
        }
    }

    private static int runLength(DataInputStream s) throws IOException {
        int n = 1;
        int b;
        do {
            b = s.readUnsignedByte();
            n += b;
        } while (b == 255);
        return n;
    }

    @Override
    public void close() throws IOException {
        connection.close();
        inflater.end();
    }
}
