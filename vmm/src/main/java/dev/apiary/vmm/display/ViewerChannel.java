package dev.apiary.vmm.display;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * One viewer's byte stream: a TCP connection ({@code vmm run --vnc}) or a connection on the VM's Unix socket
 * ({@code vnc.sock} under {@code vmm launch}, which the agent bridges to its WebSocket). Closing it ends both
 * directions, which is how a blocked reader or writer thread is released.
 */
sealed interface ViewerChannel {
    InputStream in() throws IOException;

    OutputStream out() throws IOException;

    String peer();

    void close();

    record Tcp(Socket socket) implements ViewerChannel {
        public Tcp {
            try {
                socket.setTcpNoDelay(true); // updates are written in one flush; small input events go out at once
            } catch (IOException e) {
                // a socket that cannot take options fails at its first read instead
            }
        }

        public InputStream in() throws IOException {
            return socket.getInputStream();
        }

        public OutputStream out() throws IOException {
            return socket.getOutputStream();
        }

        public String peer() {
            return String.valueOf(socket.getRemoteSocketAddress());
        }

        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    /**
     * A Unix domain socket: the peer has no address, so it is named by the socket file and a sequence number. The
     * streams call the channel directly: Java 17's {@code Channels.newInputStream}/{@code newOutputStream} take the
     * channel's blocking lock, so a reader blocked in read would stall the writer (and a viewer's reader thread
     * always waits in read).
     */
    record Unix(SocketChannel channel, String peer) implements ViewerChannel {
        public InputStream in() {
            return new InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] b = new byte[1];
                    return read(b, 0, 1) < 0 ? -1 : b[0] & 0xFF;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (len == 0) {
                        return 0;
                    }
                    int n;
                    do {
                        n = channel.read(ByteBuffer.wrap(b, off, len));
                    } while (n == 0);
                    return n;
                }
            };
        }

        public OutputStream out() {
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                    while (buf.hasRemaining()) {
                        channel.write(buf);
                    }
                }
            };
        }

        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
