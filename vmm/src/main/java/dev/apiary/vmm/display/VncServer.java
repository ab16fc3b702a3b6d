package dev.apiary.vmm.display;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An RFB server (RFC 6143, protocol 3.8; viewers speaking 3.3 and 3.7 are served too) for one machine's
 * {@link Framebuffer}: security None, or VNC Authentication when a password is set; each viewer on its own
 * threads ({@link VncConnection}) with its own pixel format and pace.
 */
public final class VncServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VncServer.class.getName());
    /** More viewers than this at once are turned away (each costs two threads and a zlib stream). */
    public static final int MAX_CLIENTS = 16;

    private final Framebuffer framebuffer;
    private final InputSink input;
    private final String name;
    private final byte[] password;
    private final ServerSocket server;
    private final Thread acceptor;
    private final Set<VncConnection> clients = ConcurrentHashMap.newKeySet();

    /**
     * @param password null for security None; else the VNC password (its first 8 bytes count, as in every
     *                 VNC implementation)
     */
    public VncServer(SocketAddress bind, Framebuffer framebuffer, InputSink input, String name, String password)
            throws IOException {
        this.framebuffer = framebuffer;
        this.input = input;
        this.name = name;
        this.password = password == null ? null : password.getBytes(StandardCharsets.ISO_8859_1);
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(bind);
        acceptor = new Thread(this::acceptLoop, "vnc-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** "HOST:PORT" (IPv6 in brackets) to an address; null when it is not one. */
    public static InetSocketAddress parseAddress(String s) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            return null;
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            int port = Integer.parseInt(s.substring(colon + 1));
            if (port < 0 || port > 65535) {
                return null;
            }
            return new InetSocketAddress(host, port);
        } catch (NumberFormatException | SecurityException e) {
            return null;
        }
    }

    /** A password file: its first line, without the line end. */
    public static String readPasswordFile(Path p) throws IOException {
        String s = Files.readString(p, StandardCharsets.ISO_8859_1);
        int nl = s.indexOf('\n');
        String line = (nl >= 0 ? s.substring(0, nl) : s).replace("\r", "");
        if (line.isEmpty()) {
            throw new IOException(p + ": the VNC password is empty");
        }
        return line;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    public int clientCount() {
        return clients.size();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (!server.isClosed()) {
                    LOG.log(Level.WARNING, "vnc: accept failed: " + e.getMessage());
                }
                return;
            }
            if (clients.size() >= MAX_CLIENTS) {
                LOG.log(Level.WARNING, "vnc: refusing " + s.getRemoteSocketAddress() + ": " + MAX_CLIENTS + " viewers already");
                closeQuietly(s);
                continue;
            }
            VncConnection c = new VncConnection(s, framebuffer, input, name, password, clients::remove);
            clients.add(c);
            c.start();
        }
    }

    static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (VncConnection c : clients) {
            c.close();
        }
    }
}
