package dev.apiary.kubectlvm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ServerSocketChannel;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code kubectl vm vnc NAME}: a local TCP port (127.0.0.1 only) that any VNC viewer can use; each viewer that
 * connects gets its own WebSocket to the agent ({@code GET /v1/vms/NS/NAME/vnc}), which carries the RFB stream
 * unchanged, so viewers choose their own pixel formats and encodings. Runs until interrupted (Ctrl-C).
 */
@Command(name = "vnc", description = "Open a local port for a VNC viewer, connected to the VM's display.")
final class VncCommand implements Callable<Integer> {
    @ParentCommand
    KubectlVm top;
    @Parameters(paramLabel = "NAME")
    String name;
    @Option(names = "--port", description = "local port on 127.0.0.1 (default: any free one)")
    int port;

    @Override
    public Integer call() throws Exception {
        AgentConnection a = top.agent(name);
        // A refused WebSocket upgrade carries no text: ask the same question over plain HTTP first, so that "no
        // display", "not running" or "forbidden" are the agent's own words, before a port is opened. A plain GET
        // of the VNC path is answered 400 ("connect with Upgrade: websocket") when a viewer could connect.
        HttpResponse<byte[]> probe = a.getUnchecked(a.vmPath("/vnc"));
        if (probe.statusCode() != 400) a.check(probe.statusCode(), new String(probe.body()));
        try (ServerSocketChannel ss = ServerSocketChannel.open()) {
            ss.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            int bound = ((InetSocketAddress) ss.getLocalAddress()).getPort();
            top.out.println("VNC of " + name + " on 127.0.0.1:" + bound + " (e.g. vncviewer 127.0.0.1::" + bound
                    + "); Ctrl-C to stop");
            top.out.flush();
            while (true) {
                Socket s;
                try {
                    s = ss.accept().socket();
                } catch (ClosedByInterruptException e) {
                    return 0;
                }
                Thread t = new Thread(() -> bridge(a, s), "vnc-bridge");
                t.setDaemon(true);
                t.start();
            }
        }
    }

    /** One viewer: its TCP connection joined to a new WebSocket; either side closing closes the other. */
    private void bridge(AgentConnection a, Socket s) {
        try (s) {
            s.setTcpNoDelay(true);
            OutputStream toViewer = s.getOutputStream();
            WebSocket ws = ConsoleCommand.open(a, "/vnc", new WebSocket.Listener() {
                @Override
                public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                    try {
                        byte[] b = new byte[data.remaining()];
                        data.get(b);
                        toViewer.write(b);
                        toViewer.flush();
                    } catch (IOException e) {
                        w.abort();
                        closeQuietly(s);
                    }
                    w.request(1);
                    return null;
                }

                @Override
                public CompletionStage<?> onClose(WebSocket w, int code, String reason) {
                    closeQuietly(s);
                    return null;
                }

                @Override
                public void onError(WebSocket w, Throwable e) {
                    closeQuietly(s);
                }
            });
            InputStream fromViewer = s.getInputStream();
            byte[] buf = new byte[16384];
            int n;
            try {
                while ((n = fromViewer.read(buf)) > 0) {
                    ws.sendBinary(ByteBuffer.wrap(buf, 0, n), true).get(30, TimeUnit.SECONDS);
                }
            } catch (IOException e) {
                // the agent's side closed the socket
            }
            if (!ws.isOutputClosed()) {
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "viewer left").orTimeout(2, TimeUnit.SECONDS).exceptionally(e -> null);
            }
        } catch (PluginException e) {
            top.err.println("error: " + e.getMessage());
        } catch (Exception e) {
            top.err.println("error: VNC connection ended: " + e.getMessage());
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
