package dev.apiary.agent.api;

import dev.apiary.agent.runtime.RunDir;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Live consoles of the VMs: any number of WebSocket readers per VM, input from the newest one only. Output is read
 * from serial.log (so every reader sees exact offsets and can resume with {@code from}); input goes to the VMM's
 * serial.sock, which the hub holds open while a console is attached (the VMM takes one client at a time).
 *
 * <p>Protocol: the first frame is text, {@code {"offset": N, "start": S}} (where this stream begins, and the oldest
 * offset kept); then binary frames of guest output in order; binary or text frames from the newest client are
 * keyboard input. A text frame {@code {"readOnly": true}} tells an older client that a newer one took the input.
 */
public final class ConsoleHub {
    private static final Logger LOG = Logger.getLogger(ConsoleHub.class);
    private static final int CHUNK = 64 << 10;
    private final Vertx vertx;
    private final Map<String, Console> consoles = new ConcurrentHashMap<>();

    public ConsoleHub(Vertx vertx) {
        this.vertx = vertx;
    }

    public void attach(RunDir dir, ServerWebSocket ws, long from) {
        Console c = consoles.computeIfAbsent(dir.uid(), k -> new Console(dir));
        c.add(ws, from);
    }

    public void close() {
        consoles.values().forEach(Console::shutdown);
        consoles.clear();
    }

    private final class Console {
        final RunDir dir;
        final List<Reader> readers = new ArrayList<>();
        long timer = -1;
        SocketChannel input;

        Console(RunDir dir) {
            this.dir = dir;
        }

        synchronized void add(ServerWebSocket ws, long from) {
            Reader r = new Reader(ws, from);
            if (!readers.isEmpty()) {
                readers.get(readers.size() - 1).ws.writeTextMessage(new JsonObject().put("readOnly", true).encode());
            }
            readers.add(r);
            ws.writeTextMessage(new JsonObject().put("offset", from).put("start", dir.serialStart()).encode());
            ws.frameHandler(f -> {
                if (f.isClose()) return;
                if (isWriter(r) && (f.isBinary() || f.isText() || f.isContinuation())) {
                    byte[] b = f.binaryData().getBytes();
                    vertx.executeBlocking(() -> {
                        send(b);
                        return null;
                    }, false);
                }
            });
            ws.closeHandler(v -> remove(r));
            // File reads stay off the event loop; ordered, so one pump at a time per console.
            if (timer < 0) timer = vertx.setPeriodic(25, id -> vertx.executeBlocking(() -> {
                pump();
                return null;
            }, true));
        }

        synchronized boolean isWriter(Reader r) {
            return !readers.isEmpty() && readers.get(readers.size() - 1) == r;
        }

        synchronized void remove(Reader r) {
            readers.remove(r);
            if (readers.isEmpty()) shutdown();
        }

        synchronized void shutdown() {
            if (timer >= 0) vertx.cancelTimer(timer);
            timer = -1;
            closeInput();
            consoles.remove(dir.uid(), this);
        }

        /** Sends each reader what serial.log gained since its last frame. */
        synchronized void pump() {
            for (Reader r : List.copyOf(readers)) {
                if (r.ws.writeQueueFull()) continue;
                try {
                    SerialHistory.Chunk c = SerialHistory.read(dir, r.next, CHUNK, null);
                    if (c.bytes().length > 0) {
                        r.ws.writeBinaryMessage(Buffer.buffer(c.bytes()));
                        r.next = c.next();
                    }
                } catch (IOException e) {
                    LOG.debugf("console of %s: %s", dir.path(), e.getMessage());
                }
            }
        }

        void send(byte[] b) {
            for (int attempt = 0; attempt < 2; attempt++) {
                try {
                    SocketChannel ch = channel();
                    ByteBuffer buf = ByteBuffer.wrap(b);
                    while (buf.hasRemaining()) ch.write(buf);
                    return;
                } catch (IOException e) {
                    closeInput(); // replaced by another client, or the VMM restarted: connect again
                }
            }
            LOG.debugf("console input for %s dropped: no serial socket", dir.path());
        }

        synchronized SocketChannel channel() throws IOException {
            if (input != null && input.isOpen()) return input;
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(dir.file(RunDir.SERIAL_SOCKET)));
            input = ch;
            // The socket also carries COM1 output, which readers get from serial.log: drain it so the VMM never waits.
            Thread drain = new Thread(() -> {
                ByteBuffer sink = ByteBuffer.allocate(8192);
                try {
                    while (ch.read(sink) >= 0) sink.clear();
                } catch (IOException ignored) {
                    // closed
                }
            }, "serial-drain-" + dir.uid());
            drain.setDaemon(true);
            drain.start();
            return ch;
        }

        synchronized void closeInput() {
            if (input != null) {
                try {
                    input.close();
                } catch (IOException ignored) {
                    // closing
                }
                input = null;
            }
        }
    }

    private static final class Reader {
        final ServerWebSocket ws;
        long next;

        Reader(ServerWebSocket ws, long from) {
            this.ws = ws;
            this.next = from;
        }
    }
}
