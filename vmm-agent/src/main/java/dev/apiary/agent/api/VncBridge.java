package dev.apiary.agent.api;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * One viewer's WebSocket joined to the VMM's {@code vnc.sock}: the RFB byte stream unchanged, as binary frames
 * towards the viewer (noVNC's framing: any split of the stream into frames is valid) and from frame payloads
 * back. The VMM serves each connection on its own, so every viewer keeps its own pixel format and pace.
 *
 * <p>Flow control both ways: the reader waits while the WebSocket's write queue is full, and the WebSocket is
 * paused while more than {@link #MAX_PENDING} bytes of viewer input wait for the socket. Whichever side closes,
 * the other is closed too.
 */
final class VncBridge {
    private static final Logger LOG = Logger.getLogger(VncBridge.class);
    static final int MAX_PENDING = 1 << 20;
    private static final int CHUNK = 64 << 10;

    private final ServerWebSocket ws;
    private final SocketChannel vnc;
    private final String name;
    private final ExecutorService toVmm;
    private final AtomicLong pending = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object drained = new Object();
    private volatile boolean paused;

    private VncBridge(ServerWebSocket ws, SocketChannel vnc, String name) {
        this.ws = ws;
        this.vnc = vnc;
        this.name = name;
        this.toVmm = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "vnc-in " + name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Connects to the VMM's VNC socket (before the upgrade is accepted, so a dead VMM is an HTTP status). */
    static SocketChannel connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
            return ch;
        } catch (IOException e) {
            ch.close();
            throw e;
        }
    }

    /** Joins an accepted WebSocket to a connected VNC socket; returns at once. */
    static void start(ServerWebSocket ws, SocketChannel vnc, String name) {
        new VncBridge(ws, vnc, name).run();
    }

    private void run() {
        ws.drainHandler(v -> {
            synchronized (drained) {
                drained.notifyAll();
            }
        });
        ws.handler(this::fromViewer);
        // The viewer's last input (keys typed just before it left) still reaches the VMM: close after it.
        ws.closeHandler(v -> {
            try {
                toVmm.execute(this::close);
            } catch (RejectedExecutionException e) {
                close();
            }
        });
        ws.exceptionHandler(e -> {
            LOG.debugf("VNC of %s: %s", name, e.getMessage());
            close();
        });
        Thread t = new Thread(this::toViewer, "vnc-out " + name);
        t.setDaemon(true);
        t.start();
    }

    /** A frame's payload from the viewer: written to the socket in order, off the event loop. */
    private void fromViewer(Buffer data) {
        byte[] b = data.getBytes();
        if (pending.addAndGet(b.length) > MAX_PENDING && !paused) {
            paused = true;
            ws.pause();
        }
        try {
            toVmm.execute(() -> {
                try {
                    ByteBuffer buf = ByteBuffer.wrap(b);
                    while (buf.hasRemaining()) vnc.write(buf);
                } catch (IOException e) {
                    close();
                    return;
                }
                if (pending.addAndGet(-b.length) < MAX_PENDING / 4 && paused) {
                    paused = false;
                    ws.resume();
                }
            });
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    /** The VMM's RFB stream to the viewer, one binary frame per read. */
    private void toViewer() {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        try {
            while (!closed.get()) {
                buf.clear();
                int n = vnc.read(buf);
                if (n < 0) break;
                if (n == 0) continue;
                ws.writeBinaryMessage(Buffer.buffer(Arrays.copyOf(buf.array(), n)));
                synchronized (drained) {
                    while (ws.writeQueueFull() && !closed.get()) drained.wait(100);
                }
            }
        } catch (IOException e) {
            LOG.debugf("VNC of %s: %s", name, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    private void close() {
        if (!closed.compareAndSet(false, true)) return;
        toVmm.shutdown(); // queued writes fail fast once the socket is closed; a blocked one is released by the close
        try {
            vnc.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        if (!ws.isClosed()) ws.close((short) 1000, "VNC connection ended");
        synchronized (drained) {
            drained.notifyAll();
        }
    }
}
