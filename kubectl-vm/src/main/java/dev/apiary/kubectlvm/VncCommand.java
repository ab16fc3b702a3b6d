package dev.apiary.kubectlvm;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code kubectl vm vnc NAME}: a local TCP port that carries RFB to the VM's display through its agent. */
@Command(name = "vnc", description = "Open a local port for a VNC viewer, connected to the VM's display.")
final class VncCommand implements Callable<Integer> {
    @ParentCommand
    KubectlVm top;
    @Parameters(paramLabel = "NAME")
    String name;
    @Option(names = "--port", description = "local port (default: any free one)")
    int port;

    @Override
    public Integer call() throws Exception {
        AgentConnection a = top.agent(name);
        // Fails with the agent's own words (e.g. 409 "this VM has no display") before a port is opened.
        a.get(a.vmPath("/screenshot.png"));
        try (ServerSocket ss = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            top.out.println("VNC for " + name + " on 127.0.0.1:" + ss.getLocalPort() + " (e.g. vncviewer 127.0.0.1::"
                    + ss.getLocalPort() + "); Ctrl-C to stop");
            while (true) {
                Socket s = ss.accept();
                Thread t = new Thread(() -> bridge(a, s), "vnc-bridge");
                t.setDaemon(true);
                t.start();
            }
        }
    }

    private void bridge(AgentConnection a, Socket s) {
        try (s) {
            OutputStream toViewer = s.getOutputStream();
            WebSocket ws = ConsoleCommand.open(a, "/vnc", new WebSocket.Listener() {
                @Override
                public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                    try {
                        byte[] b = new byte[data.remaining()];
                        data.get(b);
                        toViewer.write(b);
                        toViewer.flush();
                    } catch (java.io.IOException e) {
                        w.abort();
                    }
                    w.request(1);
                    return null;
                }
            });
            InputStream fromViewer = s.getInputStream();
            byte[] buf = new byte[16384];
            int n;
            while ((n = fromViewer.read(buf)) > 0) {
                ws.sendBinary(ByteBuffer.wrap(buf, 0, n).duplicate(), true).get(10, TimeUnit.SECONDS);
            }
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "viewer left");
        } catch (PluginException e) {
            top.err.println("error: " + e.getMessage());
        } catch (Exception e) {
            top.err.println("error: VNC connection ended: " + e.getMessage());
        }
    }
}
