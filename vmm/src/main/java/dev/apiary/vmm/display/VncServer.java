package dev.apiary.vmm.display;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An RFB server (RFC 6143, protocol 3.8; viewers speaking 3.3 and 3.7 are served too) for one machine's
 * {@link Framebuffer}: security None, or VNC Authentication when a password is set; each viewer on its own
 * threads ({@link VncConnection}) with its own pixel format and pace. It listens on TCP ({@code vmm run --vnc})
 * or on a Unix domain socket ({@link #onUnixSocket}: {@code vnc.sock} under {@code vmm launch}, reachable only by
 * the owner of the runtime directory, which the agent bridges to its authenticated WebSocket).
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
    private final ServerSocketChannel unix;
    private final Path unixPath;
    private final AtomicLong unixPeers = new AtomicLong();
    private final Thread acceptor;
    private final Set<VncConnection> clients = ConcurrentHashMap.newKeySet();

    /**
     * @param password null for security None; else the VNC password (its first 8 bytes count, as in every
     *                 VNC implementation)
     */
    public VncServer(SocketAddress bind, Framebuffer framebuffer, InputSink input, String name, String password)
            throws IOException {
        this(bind, null, framebuffer, input, name, password);
    }

    /**
     * A server on a Unix domain socket at {@code path} (replaced if it exists; mode 0600, so only the VMM's user
     * reaches it).
     */
    public static VncServer onUnixSocket(Path path, Framebuffer framebuffer, InputSink input, String name,
            String password) throws IOException {
        return new VncServer(null, path, framebuffer, input, name, password);
    }

    private VncServer(SocketAddress bind, Path path, Framebuffer framebuffer, InputSink input, String name,
            String password) throws IOException {
        this.framebuffer = framebuffer;
        this.input = input;
        this.name = name;
        this.password = password == null ? null : password.getBytes(StandardCharsets.ISO_8859_1);
        if (path == null) {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(bind);
            unix = null;
            unixPath = null;
        } else {
            server = null;
            unixPath = path;
            Files.deleteIfExists(path);
            unix = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            unix.bind(UnixDomainSocketAddress.of(path));
            try {
                Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: the directory's permissions still apply
            }
        }
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

    /** The TCP address listened on (null for a Unix socket server). */
    public InetSocketAddress address() {
        return server == null ? null : (InetSocketAddress) server.getLocalSocketAddress();
    }

    /** The Unix socket listened on (null for a TCP server). */
    public Path unixSocket() {
        return unixPath;
    }

    public int clientCount() {
        return clients.size();
    }

    private boolean open() {
        return server != null ? !server.isClosed() : unix.isOpen();
    }

    private ViewerChannel accept() throws IOException {
        if (server != null) {
            return new ViewerChannel.Tcp(server.accept());
        }
        return new ViewerChannel.Unix(unix.accept(), unixPath.getFileName() + "#" + unixPeers.incrementAndGet());
    }

    private void acceptLoop() {
        while (open()) {
            ViewerChannel v;
            try {
                v = accept();
            } catch (IOException e) {
                if (open()) {
                    LOG.log(Level.WARNING, "vnc: accept failed: " + e.getMessage());
                }
                return;
            }
            if (clients.size() >= MAX_CLIENTS) {
                LOG.log(Level.WARNING, "vnc: refusing " + v.peer() + ": " + MAX_CLIENTS + " viewers already");
                v.close();
                continue;
            }
            VncConnection c = new VncConnection(v, framebuffer, input, name, password, clients::remove);
            clients.add(c);
            c.start();
        }
    }

    @Override
    public void close() {
        try {
            if (server != null) {
                server.close();
            } else {
                unix.close();
                Files.deleteIfExists(unixPath);
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        for (VncConnection c : clients) {
            c.close();
        }
    }
}
