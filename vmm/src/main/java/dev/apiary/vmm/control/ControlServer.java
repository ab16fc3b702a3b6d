package dev.apiary.vmm.control;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * The VMM's control socket: HTTP/1.1 over a Unix domain socket, one request per connection, JSON bodies
 * (docs/vmm-process.md). Only the owner of the runtime directory can reach it (the socket file is 0600).
 * Requests are tiny and rare, so a thread per connection and a hand-written parser are enough; a request
 * over 64 KiB of headers or body is refused.
 */
public final class ControlServer implements AutoCloseable {
    private static final int MAX_REQUEST = 64 * 1024;

    /** What the control API can do to the VM. */
    public interface Actions {
        Object state();

        void shutdown();

        void stop();

        void reset();

        void nmi();

        /** False when the guest was not running (or already paused). */
        boolean pause();

        /** False when the guest was not paused. */
        boolean resume();

        /** The screen now as PNG, or null when the VM has no display. */
        default byte[] screenshot() {
            return null;
        }
    }

    private final Path path;
    private final ServerSocketChannel server;
    private final Actions actions;
    private final Thread acceptor;

    public ControlServer(Path path, Actions actions) throws IOException {
        this.path = path;
        this.actions = actions;
        Files.deleteIfExists(path);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        try {
            Files.setPosixFilePermissions(path, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: the directory's permissions still apply
        }
        acceptor = new Thread(this::acceptLoop, "control-socket");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel c = server.accept();
                Thread t = new Thread(() -> serve(c), "control-request");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(SocketChannel c) {
        try (c; InputStream in = Channels.newInputStream(c); OutputStream out = Channels.newOutputStream(c)) {
            String head = readHead(in);
            if (head == null) {
                respond(out, 400, Map.of("error", "malformed request"));
                return;
            }
            String[] lines = head.split("\r\n");
            String[] requestLine = lines[0].split(" ");
            if (requestLine.length != 3 || !requestLine[2].startsWith("HTTP/1.")) {
                respond(out, 400, Map.of("error", "malformed request line"));
                return;
            }
            long contentLength = 0;
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0 && lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-length")) {
                    try {
                        contentLength = Long.parseLong(lines[i].substring(colon + 1).trim());
                    } catch (NumberFormatException e) {
                        respond(out, 400, Map.of("error", "bad Content-Length"));
                        return;
                    }
                }
            }
            if (contentLength < 0 || contentLength > MAX_REQUEST) {
                respond(out, 413, Map.of("error", "request body too large"));
                return;
            }
            in.readNBytes((int) contentLength); // bodies are not used by any request today
            route(requestLine[0], requestLine[1], out);
        } catch (IOException | RuntimeException e) {
            // the client went away, or a bug in one request: the VM is unaffected
        }
    }

    private void route(String method, String target, OutputStream out) throws IOException {
        String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
        switch (path) {
            case "/v1/state":
                if (!method.equals("GET")) {
                    respond(out, 405, Map.of("error", "use GET"));
                } else {
                    respond(out, 200, actions.state());
                }
                return;
            case "/v1/shutdown":
                action(method, out, actions::shutdown, "ACPI power button pressed");
                return;
            case "/v1/stop":
                action(method, out, actions::stop, "stopping");
                return;
            case "/v1/reset":
                action(method, out, actions::reset, "reset");
                return;
            case "/v1/nmi":
                action(method, out, actions::nmi, "NMI injected");
                return;
            case "/v1/screenshot.png":
                if (!method.equals("GET")) {
                    respond(out, 405, Map.of("error", "use GET"));
                    return;
                }
                byte[] png = actions.screenshot();
                if (png == null) {
                    respond(out, 409, Map.of("error", "this VM has no display"));
                } else {
                    respond(out, 200, "image/png", png);
                }
                return;
            case "/v1/pause":
            case "/v1/resume":
                if (!method.equals("POST")) {
                    respond(out, 405, Map.of("error", "use POST"));
                } else if (path.endsWith("pause") ? actions.pause() : actions.resume()) {
                    respond(out, 202, Map.of("result", path.endsWith("pause") ? "paused" : "resumed"));
                } else {
                    respond(out, 409, Map.of("error", path.endsWith("pause") ? "the guest is not running"
                            : "the guest is not paused"));
                }
                return;
            default:
                respond(out, 404, Map.of("error", "no such resource: " + path));
        }
    }

    private static void action(String method, OutputStream out, Runnable r, String what) throws IOException {
        if (!method.equals("POST")) {
            respond(out, 405, Map.of("error", "use POST"));
            return;
        }
        r.run();
        respond(out, 202, Map.of("result", what));
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (b.size() < MAX_REQUEST) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            b.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) ? state + 1 : (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
            if (state == 4) {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.substring(0, s.length() - 4);
            }
        }
        return null;
    }

    static void respond(OutputStream out, int status, Object body) throws IOException {
        respond(out, status, "application/json", RuntimeDir.JSON.writeValueAsBytes(body));
    }

    static void respond(OutputStream out, int status, String contentType, byte[] body) throws IOException {
        String reason = switch (status) {
            case 200 -> "OK";
            case 202 -> "Accepted";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 409 -> "Conflict";
            case 413 -> "Payload Too Large";
            default -> "Error";
        };
        String head = "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: " + contentType + "\r\nContent-Length: "
                + body.length + "\r\nConnection: close\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(path);
    }

}
