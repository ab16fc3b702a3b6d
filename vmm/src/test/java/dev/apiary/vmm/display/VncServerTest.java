package dev.apiary.vmm.display;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.memory.GuestMemory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The RFB server against an in-test viewer over a real socket. */
class VncServerTest {
    private static final long FB = 0x100000;
    private static final int W = 200;
    private static final int H = 150;

    private GuestMemory mem;
    private Framebuffer fb;
    private VncServer server;
    private int[] image;
    private final List<String> input = new CopyOnWriteArrayList<>();
    private final InputSink sink = new InputSink() {
        @Override
        public void key(int keysym, boolean down) {
            input.add("key " + Integer.toHexString(keysym) + (down ? " down" : " up"));
        }

        @Override
        public void pointer(int buttons, int x, int y) {
            input.add("pointer " + buttons + " " + x + "," + y);
        }
    };

    @BeforeEach
    void setUp() throws Exception {
        mem = GuestMemory.allocate(0, 16L << 20);
        fb = new Framebuffer(mem, 640, 480);
        // The kit's pattern on top, random colours below: ZRLE's palette and raw tiles both appear.
        image = KitPattern.pixels(W, H);
        Random r = new Random(5);
        for (int i = W * H / 2; i < W * H; i++) {
            image[i] = 0xFF000000 | r.nextInt(1 << 24);
        }
        for (int i = 0; i < W * H; i++) {
            mem.write32(FB + 4L * i, image[i] & 0xFFFFFF);
        }
        fb.setSurface(new Surface(FB, GuestPixelFormat.XRGB8888, W, H, W * 4));
        server = start(null);
    }

    private VncServer start(String password) throws IOException {
        return new VncServer(new InetSocketAddress("127.0.0.1", 0), fb, sink, "kit-vm", password);
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    private RfbTestClient client() throws IOException {
        return new RfbTestClient(server.address());
    }

    @Test
    void handshake38AndServerInit() throws Exception {
        try (RfbTestClient c = client()) {
            assertEquals(List.of(1), c.version("RFB 003.008\n"));
            assertEquals("RFB 003.008\n", c.serverVersion);
            c.out.write(1);
            c.out.flush();
            assertEquals(0, c.in.readInt(), "SecurityResult OK");
            c.init();
            assertEquals(W, c.width);
            assertEquals(H, c.height);
            assertEquals("kit-vm", c.name);
            // 32 bpp, depth 24, little-endian, true colour, max 255, shifts 16/8/0
            assertArrayEquals(new byte[] {32, 24, 0, 1, 0, (byte) 255, 0, (byte) 255, 0, (byte) 255, 16, 8, 0, 0, 0, 0},
                    c.serverFormat);
        }
    }

    @Test
    void olderProtocolVersions() throws Exception {
        try (RfbTestClient c = client()) {
            assertEquals(List.of(1), c.version("RFB 003.003\n"), "3.3: the server picks None");
            c.init(); // no SecurityResult after None in 3.3
            assertEquals(W, c.width);
        }
        try (RfbTestClient c = client()) {
            assertEquals(List.of(1), c.version("RFB 003.007\n"));
            c.out.write(1);
            c.out.flush();
            c.init(); // 3.7: no SecurityResult after None either
            assertEquals(H, c.height);
        }
        try (RfbTestClient c = client()) {
            assertEquals(List.of(1), c.version("RFB 003.889\n"), "unknown minor versions above 8 are served as 3.8");
        }
    }

    @Test
    void vncAuthentication() throws Exception {
        server.close();
        server = start("s3cret-password"); // only the first 8 bytes count
        try (RfbTestClient c = client()) {
            assertEquals(List.of(2), c.version("RFB 003.008\n"));
            c.out.write(2);
            c.out.flush();
            c.vncAuth("s3cret-p");
            assertEquals(0, c.in.readInt());
            c.init();
            assertEquals(W, c.width);
        }
        try (RfbTestClient c = client()) {
            c.version("RFB 003.008\n");
            c.out.write(2);
            c.out.flush();
            c.vncAuth("wrong");
            assertEquals(1, c.in.readInt());
            byte[] reason = new byte[c.in.readInt()];
            c.in.readFully(reason);
            assertEquals("authentication failed", new String(reason, StandardCharsets.US_ASCII));
            assertEquals(-1, c.in.read(), "connection closed");
        }
        try (RfbTestClient c = client()) {
            c.version("RFB 003.008\n");
            c.out.write(1); // None was not offered
            c.out.flush();
            assertEquals(1, c.in.readInt());
        }
        try (RfbTestClient c = client()) {
            assertEquals(List.of(2), c.version("RFB 003.003\n"));
            c.vncAuth("s3cret-p");
            assertEquals(0, c.in.readInt());
            c.init();
        }
        try (RfbTestClient c = client()) {
            c.version("RFB 003.003\n");
            c.vncAuth("nope");
            assertEquals(1, c.in.readInt());
            assertEquals(-1, c.in.read(), "3.3: no reason, connection closed");
        }
    }

    /** A viewer's pixel format and what the test expects of 3-byte ZRLE pixels in it. */
    record Fmt(String name, int bpp, int depth, boolean be, int rmax, int gmax, int bmax, int rs, int gs, int bs,
            int cpixel, boolean cpixelHigh) {
        @Override
        public String toString() {
            return name;
        }

        /** The value a pixel of this colour must have: each channel scaled to 0..max and put at its shift. */
        int expect(int argb) {
            return q((argb >> 16) & 0xFF, rmax) << rs | q((argb >> 8) & 0xFF, gmax) << gs | q(argb & 0xFF, bmax) << bs;
        }

        private static int q(int c, int max) {
            return Math.round(c * max / 255f);
        }
    }

    static List<Object[]> formats() {
        List<Fmt> f = List.of(
                new Fmt("XRGB8888 LE", 32, 24, false, 255, 255, 255, 16, 8, 0, 3, false),
                new Fmt("XBGR8888 LE", 32, 24, false, 255, 255, 255, 0, 8, 16, 3, false),
                new Fmt("XRGB8888 BE", 32, 24, true, 255, 255, 255, 16, 8, 0, 3, false),
                new Fmt("RGBX8888 BE", 32, 24, true, 255, 255, 255, 24, 16, 8, 3, true),
                new Fmt("BGRX8888 LE", 32, 24, false, 255, 255, 255, 8, 16, 24, 3, true),
                new Fmt("XRGB depth 32", 32, 32, false, 255, 255, 255, 16, 8, 0, 4, false),
                new Fmt("RGB565 LE", 16, 16, false, 31, 63, 31, 11, 5, 0, 2, false),
                new Fmt("RGB565 BE", 16, 16, true, 31, 63, 31, 11, 5, 0, 2, false),
                new Fmt("BGR555 LE", 16, 15, false, 31, 31, 31, 0, 5, 10, 2, false),
                new Fmt("BGR233", 8, 8, false, 7, 7, 3, 0, 3, 6, 1, false),
                new Fmt("RGB332 BE", 8, 8, true, 7, 7, 3, 5, 2, 0, 1, false));
        List<Object[]> out = new ArrayList<>();
        for (Fmt x : f) {
            out.add(new Object[] {x, "Raw"});
            out.add(new Object[] {x, "ZRLE"});
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("formats")
    void everyPixelInEveryTrueColourFormat(Fmt f, String encoding) throws Exception {
        try (RfbTestClient c = client().connect()) {
            c.setPixelFormat(f.bpp, f.depth, f.be, f.rmax, f.gmax, f.bmax, f.rs, f.gs, f.bs);
            c.cpixelBytes = f.cpixel;
            c.cpixelHigh = f.cpixelHigh;
            c.setEncodings(encoding.equals("ZRLE") ? new int[] {16, 1, 0} : new int[] {0});
            c.requestAll(false);
            List<RfbTestClient.Rect> rects = c.readUpdate();
            for (RfbTestClient.Rect r : rects) {
                assertEquals(encoding.equals("ZRLE") ? 16 : 0, r.encoding());
            }
            for (int y = 0; y < H; y++) {
                for (int x = 0; x < W; x++) {
                    int i = y * W + x;
                    assertEquals(f.expect(image[i]), c.pixels[i],
                            String.format("%s %s pixel %d,%d of %08x", f, encoding, x, y, image[i]));
                }
            }
        }
    }

    @Test
    void redAndBlueAreWhereTheViewerAskedForThem() throws Exception {
        int redBar = W * 5 / 8 + 2; // bar 5 is pure red, bar 6 pure blue
        int blueBar = W * 6 / 8 + 2;
        int y = 1;
        try (RfbTestClient xrgb = client().connect(); RfbTestClient xbgr = client().connect()) {
            xrgb.setPixelFormat(32, 24, false, 255, 255, 255, 16, 8, 0);
            xbgr.setPixelFormat(32, 24, false, 255, 255, 255, 0, 8, 16);
            for (RfbTestClient c : List.of(xrgb, xbgr)) {
                c.setEncodings(0);
                c.requestAll(false);
                c.readUpdate();
            }
            assertEquals(0x00FF0000, xrgb.pixels[y * W + redBar]);
            assertEquals(0x000000FF, xrgb.pixels[y * W + blueBar]);
            assertEquals(0x000000FF, xbgr.pixels[y * W + redBar], "XBGR: red in the low byte");
            assertEquals(0x00FF0000, xbgr.pixels[y * W + blueBar]);
        }
    }

    @Test
    void incrementalUpdatesSendOnlyChangedTiles() throws Exception {
        try (RfbTestClient c = client().connect()) {
            c.setEncodings(16, 0);
            c.cpixelBytes = 3;
            c.requestAll(false);
            c.readUpdate();
            c.requestAll(true);
            // Nothing changed: the request waits. Change one pixel in tile (2, 1).
            mem.write32(FB + 4L * (70 * W + 150), 0x123456);
            List<RfbTestClient.Rect> rects = c.readUpdate();
            assertEquals(List.of(new RfbTestClient.Rect(128, 64, 64, 64, 16)), rects);
            assertEquals(0x123456, c.pixels[70 * W + 150]);
            // The edge tile of the picture is clipped: a change at (199, 149) is a 8×22 rectangle.
            c.requestAll(true);
            mem.write32(FB + 4L * (149 * W + 199), 0x654321);
            assertEquals(List.of(new RfbTestClient.Rect(192, 128, 8, 22, 16)), c.readUpdate());
            assertEquals(0x654321, c.pixels[149 * W + 199]);
            // A request for part of the screen gets that part only.
            c.request(false, 10, 20, 30, 40);
            assertEquals(List.of(new RfbTestClient.Rect(10, 20, 30, 40, 16)), c.readUpdate());
        }
    }

    @Test
    void desktopSizeWhenTheGuestChangesResolution() throws Exception {
        try (RfbTestClient c = client().connect()) {
            c.setEncodings(0, -223);
            c.requestAll(false);
            c.readUpdate();
            c.requestAll(true);
            fb.setSurface(new Surface(FB, GuestPixelFormat.XRGB8888, 100, 50, W * 4));
            List<RfbTestClient.Rect> rects = c.readUpdate();
            assertEquals(new RfbTestClient.Rect(0, 0, 100, 50, -223), rects.get(0));
            assertEquals(100, c.width);
            for (int y = 0; y < 50; y++) {
                for (int x = 0; x < 100; x++) {
                    assertEquals(image[y * W + x] & 0xFFFFFF, c.pixels[y * 100 + x], x + "," + y);
                }
            }
        }
        try (RfbTestClient c = client().connect()) {
            assertEquals(100, c.width, "new viewers get the new size in ServerInit");
        }
    }

    @Test
    void aViewerThatDoesNotReadStallsNobody() throws Exception {
        // The slow viewer asks for many full pictures and never reads them: its writer blocks on the socket.
        try (RfbTestClient slow = client().connect(); RfbTestClient fast = client().connect()) {
            slow.socket.setReceiveBufferSize(4096);
            slow.setEncodings(0);
            for (int i = 0; i < 200; i++) {
                slow.requestAll(false);
            }
            fast.setEncodings(0);
            fast.requestAll(false);
            fast.readUpdate();
            for (int i = 1; i <= 20; i++) {
                fast.requestAll(true);
                mem.write32(FB + 4L * (i * W + i), 0x010101 * i);
                fast.readUpdate();
                assertEquals(0x010101 * i, fast.pixels[i * W + i]);
            }
            assertEquals(2, server.clientCount());
        }
    }

    @Test
    void keyAndPointerEventsReachTheInput() throws Exception {
        try (RfbTestClient c = client().connect()) {
            c.key(0x61, true);
            c.key(0x61, false);
            c.pointer(1, 10, 20);
            c.requestAll(false); // a round trip: the events before it have been handled
            c.readUpdate();
        }
        assertEquals(List.of("key 61 down", "key 61 up", "pointer 1 10,20"), input);
    }

    @Test
    void hostileViewersAreDisconnectedAndOthersServed() throws Exception {
        try (RfbTestClient c = client().connect()) {
            c.setPixelFormat(24, 24, false, 255, 255, 255, 16, 8, 0);
            assertEquals(-1, c.in.read(), "24 bpp is not an RFB format");
        }
        try (RfbTestClient c = client().connect()) {
            c.out.write(new byte[] {0, 0, 0, 0, 32, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); // colour map
            c.out.flush();
            assertEquals(-1, c.in.read());
        }
        try (RfbTestClient c = client().connect()) {
            c.out.write(99);
            c.out.flush();
            assertEquals(-1, c.in.read(), "unknown message");
        }
        try (RfbTestClient c = client().connect()) {
            c.out.write(new byte[] {6, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xF0}); // huge cut text
            c.out.flush();
            assertEquals(-1, c.in.read());
        }
        try (RfbTestClient c = client()) {
            c.in.readFully(new byte[12]);
            c.out.write("XYZ 003.008\n".getBytes(StandardCharsets.US_ASCII));
            c.out.flush();
            assertThrowsOrEof(c);
        }
        // Random bytes after the handshake never break the server.
        Random r = new Random(3);
        for (int i = 0; i < 30; i++) {
            try (RfbTestClient c = client().connect()) {
                byte[] junk = new byte[r.nextInt(200)];
                r.nextBytes(junk);
                c.out.write(junk);
                c.out.flush();
            } catch (SocketException ignored) {
                // the server may already have hung up
            }
        }
        try (RfbTestClient c = client().connect()) {
            c.setEncodings(0);
            c.requestAll(false);
            c.readUpdate();
            assertEquals(image[0] & 0xFFFFFF, c.pixels[0]);
        }
    }

    private static void assertThrowsOrEof(RfbTestClient c) {
        try {
            assertEquals(-1, c.in.read());
        } catch (IOException e) {
            // reset by the server: also a refusal
        }
    }

    @Test
    void responseIsDesOfTheChallengeWithBitReversedKey() throws Exception {
        // Known answer computed independently (RfbTestClient's bit reversal, the JDK's DES).
        byte[] challenge = ByteBuffer.allocate(16).putLong(0x0123456789ABCDEFL).putLong(0x0F1E2D3C4B5A6978L).array();
        byte[] a = VncConnection.vncResponse("password".getBytes(StandardCharsets.ISO_8859_1), challenge);
        byte[] b = VncConnection.vncResponse("password-longer".getBytes(StandardCharsets.ISO_8859_1), challenge);
        assertArrayEquals(a, b, "only 8 bytes count");
        assertFalse(java.util.Arrays.equals(a, VncConnection.vncResponse("passwore".getBytes(StandardCharsets.ISO_8859_1),
                challenge)));
    }
}
