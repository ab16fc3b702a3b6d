package dev.apiary.kubectlvm;

import java.io.InputStream;
import java.net.URI;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code kubectl vm console NAME}: the serial console, raw, both ways; Ctrl-] or Ctrl-A x leaves. */
@Command(name = "console", description = "Attach to the VM's serial console (Ctrl-] or Ctrl-A x to leave).")
final class ConsoleCommand implements Callable<Integer> {
    @ParentCommand
    KubectlVm top;
    @Parameters(paramLabel = "NAME")
    String name;
    @Option(names = "--tail", description = "show this many bytes of history first (default 2048)")
    int tail = 2048;

    @Override
    public Integer call() throws Exception {
        AgentConnection a = top.agent(name);
        // A refused WebSocket upgrade carries no text: ask the same question over plain HTTP first for a clear line.
        a.get(a.vmPath(""));
        CompletableFuture<Void> closed = new CompletableFuture<>();
        WebSocket ws = open(a, "/serial/stream?tail=" + tail, new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                byte[] b = new byte[data.remaining()];
                data.get(b);
                top.out.write(b, 0, b.length);
                top.out.flush();
                w.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                if (data.toString().contains("\"readOnly\"")) {
                    top.err.print("\r\n[kubectl vm: another console took the keyboard; this one is read-only]\r\n");
                }
                w.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket w, int code, String reason) {
                closed.complete(null);
                return null;
            }

            @Override
            public void onError(WebSocket w, Throwable e) {
                closed.complete(null);
            }
        });
        top.err.print("[kubectl vm: connected to " + name + " on " + a.node + "; Ctrl-] or Ctrl-A x to leave]\r\n");
        try (RawTerminal raw = RawTerminal.enter()) {
            Thread keys = new Thread(() -> pumpKeys(System.in, ws, closed), "console-keys");
            keys.setDaemon(true);
            keys.start();
            closed.join();
        }
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").orTimeout(2, TimeUnit.SECONDS).exceptionally(e -> null);
        top.err.println("\n[kubectl vm: disconnected]");
        return 0;
    }

    private static void pumpKeys(InputStream in, WebSocket ws, CompletableFuture<Void> closed) {
        EscapeDecoder esc = new EscapeDecoder();
        byte[] buf = new byte[1024];
        try {
            int n;
            while (!closed.isDone() && (n = in.read(buf)) > 0) {
                byte[] send = esc.feed(buf, n);
                if (send.length > 0) ws.sendBinary(ByteBuffer.wrap(send), true).get(10, TimeUnit.SECONDS);
                if (esc.quit()) break;
            }
        } catch (Exception e) {
            // connection gone
        }
        closed.complete(null);
    }

    static WebSocket open(AgentConnection a, String rest, WebSocket.Listener l) {
        URI uri = URI.create(a.endpoint.replaceFirst("^http", "ws") + a.vmPath(rest));
        try {
            return a.http.newWebSocketBuilder().header("Authorization", "Bearer " + a.token).buildAsync(uri, l)
                    .get(15, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) {
                int s = h.getResponse().statusCode();
                a.check(s, s == 409 ? "{\"error\":\"not running or no display\"}" : "{\"error\":\"refused (" + s + ")\"}");
            }
            throw a.unreachable(e.getCause());
        } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
            throw new PluginException("cannot reach the agent of node " + a.node + " at " + a.endpoint + ": " + e);
        }
    }
}
