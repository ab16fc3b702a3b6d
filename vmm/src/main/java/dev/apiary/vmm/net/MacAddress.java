package dev.apiary.vmm.net;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/** A 48-bit Ethernet address, kept in the low 48 bits of a long in transmission order (first byte highest). */
public record MacAddress(long value) {
    public MacAddress {
        if ((value >>> 48) != 0) {
            throw new IllegalArgumentException("not a 48-bit address");
        }
    }

    /** {@code 52:54:00:12:34:56}. */
    public static MacAddress parse(String s) {
        String[] parts = s.split(":");
        if (parts.length != 6) {
            throw new IllegalArgumentException("not a MAC address: " + s);
        }
        long v = 0;
        for (String p : parts) {
            if (p.length() != 2) {
                throw new IllegalArgumentException("not a MAC address: " + s);
            }
            v = (v << 8) | Integer.parseInt(p, 16);
        }
        return new MacAddress(v);
    }

    /**
     * A stable address for a VM's interface: 52:54:00 (locally administered, unicast, the prefix QEMU and
     * KubeVirt use) and three bytes of SHA-256 over the VM's identity and the interface's name, so the same
     * VM gets the same MAC on every boot and every node.
     */
    public static MacAddress derived(String vmIdentity, String interfaceName) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest((vmIdentity + "\0" + interfaceName).getBytes(StandardCharsets.UTF_8));
            return new MacAddress(0x5254_0000_0000L | ((h[0] & 0xFFL) << 16) | ((h[1] & 0xFFL) << 8) | (h[2] & 0xFFL));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static MacAddress of(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return new MacAddress(v);
    }

    public byte[] bytes() {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (value >>> (8 * (5 - i)));
        }
        return b;
    }

    public boolean multicast() {
        return (value & 0x0100_0000_0000L) != 0;
    }

    @Override
    public String toString() {
        byte[] b = bytes();
        return String.format(Locale.ROOT, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    }
}
