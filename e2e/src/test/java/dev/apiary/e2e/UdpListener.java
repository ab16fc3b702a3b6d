package dev.apiary.e2e;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@code UdpListener PORT FILE}: appends "from ADDRESS:PORT: PAYLOAD" to FILE for every datagram to PORT, until
 * killed. The "outside" of {@link NetworkIT}, run in a network namespace of its own.
 */
public final class UdpListener {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[1]);
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(Integer.parseInt(args[0])))) {
            Files.writeString(out, "", StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
            byte[] buf = new byte[2048];
            while (true) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                s.receive(p);
                String line = "from " + p.getAddress().getHostAddress() + ":" + p.getPort() + ": "
                        + new String(buf, 0, p.getLength(), StandardCharsets.US_ASCII) + "\n";
                Files.writeString(out, line, StandardOpenOption.APPEND);
            }
        }
    }
}
