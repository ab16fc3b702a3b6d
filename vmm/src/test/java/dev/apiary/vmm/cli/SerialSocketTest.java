package dev.apiary.vmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** COM1 as a raw Unix socket: bytes both ways, no escapes (Ctrl-A and Ctrl-C pass through), one client at a time. */
class SerialSocketTest {
    private static SocketChannel connect(Path p) throws Exception {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(p));
        return c;
    }

    private static String read(SocketChannel c, int n) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                break;
            }
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void bytesFlowBothWaysAndANewClientReplacesTheOld(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("com1.sock");
        LinkedBlockingQueue<byte[]> toGuest = new LinkedBlockingQueue<>();
        try (SerialSocket s = new SerialSocket(sock, toGuest::add)) {
            SocketChannel first = connect(sock);
            first.write(ByteBuffer.wrap(new byte[] {0x01, 'x', 0x03}));
            assertArrayEquals(new byte[] {0x01, 'x', 0x03}, toGuest.poll(10, TimeUnit.SECONDS));
            Thread.sleep(100); // the acceptor has registered the client
            byte[] out = "$ gdb sees this\n".getBytes(StandardCharsets.ISO_8859_1);
            s.write(out, 0, out.length);
            assertEquals("$ gdb sees this\n", read(first, out.length));

            SocketChannel second = connect(sock);
            Thread.sleep(100);
            assertEquals(-1, first.read(ByteBuffer.allocate(1)), "the first client was disconnected");
            s.write(out, 0, 2);
            assertEquals("$ ", read(second, 2));
            second.close();
        }
        assertFalse(java.nio.file.Files.exists(sock), "socket file removed on close");
    }
}
