package dev.apiary.vmm.display;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * One viewer (RFC 6143). The reader thread does the handshake, then reads client messages: pixel format,
 * encodings, update requests (recorded), key and pointer events (to the {@link InputSink}). The writer thread
 * answers update requests: it captures the framebuffer when a request is pending and sends the tiles that
 * changed since this viewer last got them (all of them for a non-incremental request), in this viewer's
 * pixel format, ZRLE when the viewer accepts it, else Raw. A viewer that reads slowly only slows its own
 * writer; it gets the newest picture when it asks again (the pictures in between are never queued).
 */
final class VncConnection {
    private static final System.Logger LOG = System.getLogger(VncConnection.class.getName());

    static final int ENC_RAW = 0;
    static final int ENC_COPYRECT = 1;
    static final int ENC_ZRLE = 16;
    static final int ENC_DESKTOP_SIZE = -223;
    /** How long the writer waits before looking at the screen again when an incremental request has nothing new. */
    private static final long POLL_NANOS = 20_000_000L;
    private static final int MAX_CUT_TEXT = 1 << 20;
    private static final int HANDSHAKE_TIMEOUT_MS = 30_000;

    private final ViewerChannel channel;
    private final Framebuffer framebuffer;
    private final InputSink input;
    private final String name;
    private final byte[] password;
    private final Consumer<VncConnection> onClose;
    private final Object lock = new Object();
    private final String peer;
    // Under lock: what the viewer asked for.
    private RfbPixelFormat format = RfbPixelFormat.NATIVE;
    private boolean zrle;
    private boolean desktopSize;
    private boolean pending;
    private boolean incremental;
    private int reqX0;
    private int reqY0;
    private int reqX1;
    private int reqY1;
    private volatile boolean closed;
    private volatile boolean greeted;
    private Thread writer;

    VncConnection(ViewerChannel channel, Framebuffer framebuffer, InputSink input, String name, byte[] password,
            Consumer<VncConnection> onClose) {
        this.channel = channel;
        this.framebuffer = framebuffer;
        this.input = input;
        this.name = name;
        this.password = password;
        this.onClose = onClose;
        this.peer = channel.peer();
    }

    void start() {
        Thread reader = new Thread(this::readLoop, "vnc-read " + peer);
        reader.setDaemon(true);
        reader.start();
    }

    void close() {
        closed = true;
        channel.close();
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    private void readLoop() {
        try {
            DataInputStream in = new DataInputStream(channel.in());
            OutputStream out = new BufferedOutputStream(channel.out(), 1 << 16);
            // A viewer that connects and never finishes the handshake is cut off (either transport: a Unix
            // socket has no read timeout).
            CompletableFuture.delayedExecutor(HANDSHAKE_TIMEOUT_MS, TimeUnit.MILLISECONDS).execute(() -> {
                if (!greeted) {
                    LOG.log(Level.INFO, () -> "vnc: " + peer + ": no handshake in " + HANDSHAKE_TIMEOUT_MS / 1000 + " s");
                    close();
                }
            });
            if (!handshake(in, out)) {
                return;
            }
            greeted = true;
            writer = new Thread(() -> writeLoop(out), "vnc-write " + peer);
            writer.setDaemon(true);
            writer.start();
            messages(in);
        } catch (EOFException e) {
            LOG.log(Level.DEBUG, () -> "vnc: " + peer + " disconnected");
        } catch (IOException | RuntimeException e) {
            if (!closed) {
                LOG.log(Level.INFO, () -> "vnc: " + peer + ": " + e.getMessage());
            }
        } finally {
            close();
            onClose.accept(this);
        }
    }

    /** Version, security, ClientInit, ServerInit. False when the viewer is turned away. */
    private boolean handshake(DataInputStream in, OutputStream out) throws IOException {
        out.write("RFB 003.008\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        byte[] v = new byte[12];
        in.readFully(v);
        String version = new String(v, StandardCharsets.US_ASCII);
        if (!version.startsWith("RFB ") || version.charAt(7) != '.' || v[11] != '\n') {
            throw new IOException("not an RFB client: " + version.strip());
        }
        int minor;
        try {
            minor = Integer.parseInt(version.substring(8, 11));
        } catch (NumberFormatException e) {
            throw new IOException("bad RFB version " + version.strip());
        }
        // RFC 6143 §7.1.1: an unknown version is served as 3.3; 3.4–3.6 are 3.3, 3.7 is 3.7, later ones 3.8.
        int proto = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
        int type = password == null ? 1 : 2;
        if (proto == 3) {
            out.write(be32(type));
        } else {
            out.write(new byte[] {1, (byte) type});
            out.flush();
            int chosen = in.readUnsignedByte();
            if (chosen != type) {
                fail(out, proto, "security type " + chosen + " was not offered");
                return false;
            }
        }
        out.flush();
        if (type == 2 && !vncAuthentication(in, out)) {
            fail(out, proto, "authentication failed");
            LOG.log(Level.WARNING, () -> "vnc: " + peer + ": wrong password");
            return false;
        }
        if (type == 2 || proto == 8) {
            out.write(be32(0)); // SecurityResult OK (3.3 and 3.7 send none after None)
            out.flush();
        }
        in.readUnsignedByte(); // ClientInit shared-flag: viewers always share this screen
        Frame f = framebuffer.capture();
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(24 + n.length);
        b.putShort((short) f.width()).putShort((short) f.height());
        RfbPixelFormat.NATIVE.write(b);
        b.putInt(n.length).put(n);
        out.write(b.array());
        out.flush();
        synchronized (lock) {
            knownWidth = f.width();
            knownHeight = f.height();
        }
        LOG.log(Level.INFO, () -> "vnc: " + peer + " connected (RFB 3." + proto + ")");
        return true;
    }

    private void fail(OutputStream out, int proto, String reason) throws IOException {
        out.write(be32(1));
        if (proto == 8) {
            byte[] r = reason.getBytes(StandardCharsets.US_ASCII);
            out.write(be32(r.length));
            out.write(r);
        }
        out.flush();
    }

    private boolean vncAuthentication(DataInputStream in, OutputStream out) throws IOException {
        byte[] challenge = new byte[16];
        new SecureRandom().nextBytes(challenge);
        out.write(challenge);
        out.flush();
        byte[] response = new byte[16];
        in.readFully(response);
        return MessageDigest.isEqual(vncResponse(password, challenge), response);
    }

    /**
     * DES-ECB of the challenge with the password as key (first 8 bytes, zero-padded), each key byte's bits
     * reversed — the historical VNC quirk (RFC 6143 §7.2.2 and its errata).
     */
    static byte[] vncResponse(byte[] password, byte[] challenge) {
        byte[] key = new byte[8];
        for (int i = 0; i < 8 && i < password.length; i++) {
            key[i] = (byte) (Integer.reverse(password[i] & 0xFF) >>> 24);
        }
        try {
            Cipher des = Cipher.getInstance("DES/ECB/NoPadding");
            des.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "DES"));
            return des.doFinal(challenge);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("DES is part of every Java runtime", e);
        }
    }

    private void messages(DataInputStream in) throws IOException {
        while (!closed) {
            int type = in.readUnsignedByte();
            switch (type) {
                case 0 -> {
                    byte[] m = new byte[19];
                    in.readFully(m);
                    RfbPixelFormat pf = RfbPixelFormat.read(ByteBuffer.wrap(m, 3, 16));
                    String problem = pf.problem();
                    if (problem != null) {
                        throw new IOException("SetPixelFormat: " + problem);
                    }
                    synchronized (lock) {
                        format = pf;
                    }
                }
                case 2 -> {
                    in.readUnsignedByte();
                    int n = in.readUnsignedShort();
                    boolean z = false;
                    boolean ds = false;
                    for (int i = 0; i < n; i++) {
                        int e = in.readInt();
                        z |= e == ENC_ZRLE;
                        ds |= e == ENC_DESKTOP_SIZE;
                    }
                    synchronized (lock) {
                        zrle = z;
                        desktopSize = ds;
                    }
                }
                case 3 -> {
                    boolean inc = in.readUnsignedByte() != 0;
                    int x = in.readUnsignedShort();
                    int y = in.readUnsignedShort();
                    int w = in.readUnsignedShort();
                    int h = in.readUnsignedShort();
                    request(inc, x, y, w, h);
                }
                case 4 -> {
                    boolean down = in.readUnsignedByte() != 0;
                    in.readUnsignedShort();
                    input.key(in.readInt(), down);
                }
                case 5 -> {
                    int buttons = in.readUnsignedByte();
                    int x = in.readUnsignedShort();
                    int y = in.readUnsignedShort();
                    input.pointer(buttons, x, y);
                }
                case 6 -> {
                    in.readFully(new byte[3]);
                    int len = in.readInt();
                    if (len < 0 || len > MAX_CUT_TEXT) {
                        throw new IOException("ClientCutText of " + Integer.toUnsignedString(len) + " bytes");
                    }
                    in.skipNBytes(len); // no clipboard in the guest to put it in
                }
                default -> throw new IOException("unknown client message type " + type);
            }
        }
    }

    private void request(boolean inc, int x, int y, int w, int h) {
        synchronized (lock) {
            if (pending) {
                incremental &= inc;
                reqX0 = Math.min(reqX0, x);
                reqY0 = Math.min(reqY0, y);
                reqX1 = Math.max(reqX1, x + w);
                reqY1 = Math.max(reqY1, y + h);
            } else {
                pending = true;
                incremental = inc;
                reqX0 = x;
                reqY0 = y;
                reqX1 = x + w;
                reqY1 = y + h;
            }
            lock.notifyAll();
        }
    }

    // Writer state (writer thread, and handshake before it starts).
    private int knownWidth;
    private int knownHeight;
    private long[] sent = new long[0];

    private record Rect(int x, int y, int w, int h) {}

    private void writeLoop(OutputStream out) {
        try (ZrleEncoder z = new ZrleEncoder()) {
            while (!closed) {
                boolean inc;
                int x0;
                int y0;
                int x1;
                int y1;
                RfbPixelFormat pf;
                boolean useZrle;
                boolean sizeOk;
                synchronized (lock) {
                    while (!pending && !closed) {
                        lock.wait();
                    }
                    if (closed) {
                        return;
                    }
                    inc = incremental;
                    x0 = reqX0;
                    y0 = reqY0;
                    x1 = reqX1;
                    y1 = reqY1;
                    pending = false;
                    pf = format;
                    useZrle = zrle;
                    sizeOk = desktopSize;
                }
                Frame f = framebuffer.capture();
                boolean resized = f.width() != knownWidth || f.height() != knownHeight;
                boolean announce = resized && sizeOk;
                if (resized) {
                    if (sizeOk) {
                        knownWidth = f.width();
                        knownHeight = f.height();
                        x0 = 0;
                        y0 = 0;
                        x1 = knownWidth;
                        y1 = knownHeight;
                    }
                    inc = false;
                }
                if (sent.length != f.tileGeneration().length) {
                    sent = new long[f.tileGeneration().length];
                }
                // What this viewer can be sent: its request within both its idea of the screen and the picture.
                x1 = Math.min(x1, Math.min(knownWidth, f.width()));
                y1 = Math.min(y1, Math.min(knownHeight, f.height()));
                List<Rect> rects = x0 < x1 && y0 < y1 ? rects(f, inc, x0, y0, x1, y1) : List.of();
                if (rects.isEmpty() && !announce) {
                    if (inc) {
                        // Nothing new yet: keep the request and look again a little later.
                        request(true, x0, y0, x1 - x0, y1 - y0);
                        synchronized (lock) {
                            lock.wait(POLL_NANOS / 1_000_000);
                        }
                        continue;
                    }
                }
                send(out, f, rects, announce, pf, useZrle, z);
            }
        } catch (IOException e) {
            if (!closed) {
                LOG.log(Level.INFO, () -> "vnc: " + peer + ": " + e.getMessage());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            close();
        }
    }

    /** Runs of tiles to send in each tile row, clipped to the request; marks fully covered tiles as sent. */
    private List<Rect> rects(Frame f, boolean inc, int x0, int y0, int x1, int y1) {
        int t = Framebuffer.TILE;
        int tx = f.tilesX();
        long[] gen = f.tileGeneration();
        List<Rect> out = new ArrayList<>();
        for (int j = y0 / t; j * t < y1; j++) {
            int runStart = -1;
            for (int i = x0 / t; ; i++) {
                boolean inside = i * t < x1;
                int k = j * tx + i;
                boolean dirty = inside && (!inc || gen[k] > sent[k]);
                if (dirty) {
                    if (runStart < 0) {
                        runStart = i;
                    }
                    int cx0 = i * t;
                    int cy0 = j * t;
                    boolean covered = cx0 >= x0 && cy0 >= y0 && Math.min(cx0 + t, f.width()) <= x1
                            && Math.min(cy0 + t, f.height()) <= y1;
                    if (covered) {
                        sent[k] = gen[k];
                    }
                }
                if (!dirty && runStart >= 0) {
                    int rx0 = Math.max(x0, runStart * t);
                    int rx1 = Math.min(x1, i * t);
                    int ry0 = Math.max(y0, j * t);
                    int ry1 = Math.min(y1, (j + 1) * t);
                    out.add(new Rect(rx0, ry0, rx1 - rx0, ry1 - ry0));
                    runStart = -1;
                }
                if (!inside) {
                    break;
                }
            }
        }
        return out;
    }

    private void send(OutputStream out, Frame f, List<Rect> rects, boolean announce, RfbPixelFormat pf,
            boolean useZrle, ZrleEncoder z) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(4);
        h.put((byte) 0).put((byte) 0).putShort((short) (rects.size() + (announce ? 1 : 0)));
        out.write(h.array());
        if (announce) {
            out.write(rectHeader(0, 0, f.width(), f.height(), ENC_DESKTOP_SIZE));
        }
        for (Rect r : rects) {
            if (useZrle) {
                out.write(rectHeader(r.x, r.y, r.w, r.h, ENC_ZRLE));
                byte[] data = z.encode(f, r.x, r.y, r.w, r.h, pf);
                out.write(be32(data.length));
                out.write(data);
            } else {
                out.write(rectHeader(r.x, r.y, r.w, r.h, ENC_RAW));
                byte[] row = new byte[r.w * pf.bytesPerPixel()];
                for (int y = r.y; y < r.y + r.h; y++) {
                    int o = 0;
                    for (int x = r.x; x < r.x + r.w; x++) {
                        o = pf.put(pf.pixel(f.pixel(x, y)), row, o);
                    }
                    out.write(row);
                }
            }
        }
        out.flush();
    }

    private static byte[] rectHeader(int x, int y, int w, int h, int encoding) {
        return ByteBuffer.allocate(12).putShort((short) x).putShort((short) y).putShort((short) w).putShort((short) h)
                .putInt(encoding).array();
    }

    private static byte[] be32(int v) {
        return ByteBuffer.allocate(4).putInt(v).array();
    }
}
