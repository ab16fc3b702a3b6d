package dev.apiary.vmm.cli;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * COM1 as a Unix domain socket, raw bytes both ways, no escapes: what a kernel debugger (gdb's
 * {@code target remote} on a KGDB serial line, or socat) attaches to. One client at a time; a new client
 * replaces the old one.
 */
public final class SerialSocket implements AutoCloseable {
    private final Path path;
    private final ServerSocketChannel server;
    private volatile SocketChannel client;
    private final Thread acceptor;

    public SerialSocket(Path path, Consumer<byte[]> toGuest) throws IOException {
        this.path = path;
        Files.deleteIfExists(path);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        acceptor = new Thread(() -> acceptLoop(toGuest), "serial-socket");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void acceptLoop(Consumer<byte[]> toGuest) {
        while (server.isOpen()) {
            try {
                SocketChannel c = server.accept();
                SocketChannel old = client;
                client = c;
                if (old != null) {
                    old.close();
                }
                Thread reader = new Thread(() -> readLoop(c, toGuest), "serial-socket-reader");
                reader.setDaemon(true);
                reader.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void readLoop(SocketChannel c, Consumer<byte[]> toGuest) {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        try {
            while (true) {
                buf.clear();
                int n = c.read(buf);
                if (n < 0) {
                    return;
                }
                byte[] b = new byte[n];
                buf.flip().get(b);
                toGuest.accept(b);
            }
        } catch (IOException e) {
            // client went away
        }
    }

    /** Sends guest output to the attached client, if any (dropped otherwise, like an unplugged cable). */
    public void write(byte[] b, int off, int len) {
        SocketChannel c = client;
        if (c == null) {
            return;
        }
        try {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                c.write(buf);
            }
        } catch (IOException e) {
            client = null;
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        SocketChannel c = client;
        if (c != null) {
            c.close();
        }
        Files.deleteIfExists(path);
    }
}
