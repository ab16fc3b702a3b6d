package dev.apiary.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A byte stream over a WebSocket's binary frames (how noVNC carries RFB): what arrives is read from {@link #in},
 * each flush of {@link #out} is one binary frame. Reads give up after a minute, so a broken bridge fails a test.
 */
final class WebSocketStream implements WebSocket.Listener, AutoCloseable {
    private static final byte[] END = new byte[0];
    private final LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    volatile WebSocket ws;
    volatile int closeCode = -1;

    final InputStream in = new InputStream() {
        private byte[] cur = new byte[0];
        private int pos;

        @Override
        public int read() throws IOException {
            byte[] b = new byte[1];
            return read(b, 0, 1) < 0 ? -1 : b[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            while (pos == cur.length) {
                if (cur == END) return -1;
                try {
                    cur = received.poll(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                if (cur == null) throw new IOException("nothing received over the WebSocket for 60 s");
                pos = 0;
            }
            int n = Math.min(len, cur.length - pos);
            System.arraycopy(cur, pos, b, off, n);
            pos += n;
            return n;
        }
    };

    final OutputStream out = new OutputStream() {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

        @Override
        public void write(int b) {
            buf.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            buf.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            if (buf.size() == 0) return;
            try {
                ws.sendBinary(ByteBuffer.wrap(buf.toByteArray()), true).get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IOException(e);
            }
            buf.reset();
        }
    };

    @Override
    public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        received.add(b);
        w.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket w, int code, String reason) {
        closeCode = code;
        received.add(END);
        return null;
    }

    @Override
    public void onError(WebSocket w, Throwable error) {
        received.add(END);
    }

    @Override
    public void close() {
        if (ws != null && !ws.isOutputClosed()) ws.sendClose(WebSocket.NORMAL_CLOSURE, "done");
    }
}
