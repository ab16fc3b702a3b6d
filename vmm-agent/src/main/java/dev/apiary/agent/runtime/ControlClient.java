package dev.apiary.agent.runtime;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/** HTTP/1.1 over a VMM's control socket (docs/vmm-process.md): one request per connection, JSON bodies. */
public final class ControlClient {
    private ControlClient() {}

    public record Response(int status, String body) {
        public boolean ok() {
            return status >= 200 && status < 300;
        }
    }

    public static Response post(Path socket, String path) throws IOException {
        return call(socket, "POST", path);
    }

    public static Response get(Path socket, String path) throws IOException {
        return call(socket, "GET", path);
    }

    /** A response whose body is not text (the screenshot). */
    public record Binary(int status, String contentType, byte[] body) {
        public boolean ok() {
            return status >= 200 && status < 300;
        }
    }

    /** GET of a binary resource ({@code /v1/screenshot.png}). */
    public static Binary getBinary(Path socket, String path) throws IOException {
        byte[] raw = exchange(socket, "GET", path);
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        Response head = parse(text);
        int body = text.indexOf("\r\n\r\n");
        String type = null;
        for (String line : text.substring(0, Math.max(0, body)).split("\r\n")) {
            if (line.toLowerCase().startsWith("content-type:")) type = line.substring(13).trim();
        }
        return new Binary(head.status(), type, body < 0 ? new byte[0] : Arrays.copyOfRange(raw, body + 4, raw.length));
    }

    static Response call(Path socket, String method, String path) throws IOException {
        return parse(new String(exchange(socket, method, path), StandardCharsets.UTF_8));
    }

    private static byte[] exchange(Path socket, String method, String path) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            String req = method + " " + path + " HTTP/1.1\r\nHost: vmm\r\nContent-Length: 0\r\n"
                    + "Connection: close\r\n\r\n";
            ByteBuffer out = ByteBuffer.wrap(req.getBytes(StandardCharsets.US_ASCII));
            while (out.hasRemaining()) ch.write(out);
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(65536);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (ch.read(buf) >= 0) {
                all.write(buf.array(), 0, buf.position());
                buf.clear();
                if (complete(all.toByteArray())) break;
                if (System.nanoTime() > deadline) throw new IOException("control socket: no complete answer in 5 s");
            }
            return all.toByteArray();
        }
    }

    private static boolean complete(byte[] b) {
        String s = new String(b, StandardCharsets.ISO_8859_1);
        int end = s.indexOf("\r\n\r\n");
        if (end < 0) return false;
        for (String line : s.substring(0, end).split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                int n = Integer.parseInt(line.substring(15).trim());
                return b.length >= end + 4 + n;
            }
        }
        return false; // no length: read to EOF
    }

    static Response parse(String raw) throws IOException {
        int sp = raw.indexOf(' ');
        if (!raw.startsWith("HTTP/1.") || sp < 0 || raw.length() < sp + 4) {
            throw new IOException("control socket: not an HTTP answer: " + raw.lines().findFirst().orElse(""));
        }
        int status = Integer.parseInt(raw.substring(sp + 1, sp + 4));
        int body = raw.indexOf("\r\n\r\n");
        return new Response(status, body < 0 ? "" : raw.substring(body + 4));
    }
}
