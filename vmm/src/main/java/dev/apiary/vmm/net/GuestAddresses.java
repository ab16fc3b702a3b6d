package dev.apiary.vmm.net;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The IP addresses a guest uses on one interface, as the frames it transmits show them: the sender of its ARP
 * packets and the source of its IPv4 and IPv6 packets (global addresses only: not 0.0.0.0, multicast or
 * link-local), from frames whose source MAC is the interface's. A guest that runs DHCP announces its lease
 * this way (ARP), one with a static address as soon as it sends anything. What a guest claims is reported,
 * not checked: this is information for status, as KubeVirt's interface list is, not a security boundary.
 *
 * <p>At most {@link #MAX} addresses are kept; a new one evicts the one not seen for the longest. They outlive
 * a device reset (a rebooting guest usually comes back with the same ones). Thread-safe
 * (every queue pair's thread reports here); {@link #observe} costs a comparison when nothing changed.
 */
public final class GuestAddresses {
    public static final int MAX = 4;
    /** How much of a frame {@link #observe} looks at: Ethernet (14) + ARP (28) or the IPv6 source (24). */
    public static final int HEAD_BYTES = 42;

    private final Runnable changed;
    private final byte[][] addrs = new byte[MAX][];
    private final long[] lastSeen = new long[MAX];
    private final long[] firstSeen = new long[MAX];
    private long clock;
    private volatile int lastV4 = 0;

    /** @param changed told (on a device thread) when the list changed */
    public GuestAddresses(Runnable changed) {
        this.changed = changed;
    }

    /** Looks at the first {@code n} bytes of a frame the guest sent ({@code mac}: the interface's address). */
    public void observe(byte[] f, int n, long mac) {
        if (n < 14 || macAt(f, 6) != mac) {
            return;
        }
        int type = ((f[12] & 0xFF) << 8) | (f[13] & 0xFF);
        if (type == 0x0806 && n >= 42 && macAt(f, 22) == mac) {
            v4(f, 28); // ARP sender protocol address (RFC 826)
        } else if (type == 0x0800 && n >= 30 && (f[14] & 0xF0) == 0x40) {
            v4(f, 26); // IPv4 source (RFC 791)
        } else if (type == 0x86DD && n >= 38 && (f[14] & 0xF0) == 0x60) {
            v6(f, 22); // IPv6 source (RFC 8200)
        }
    }

    private static long macAt(byte[] f, int at) {
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = (v << 8) | (f[at + i] & 0xFF);
        }
        return v;
    }

    private void v4(byte[] f, int at) {
        int a = ((f[at] & 0xFF) << 24) | ((f[at + 1] & 0xFF) << 16) | ((f[at + 2] & 0xFF) << 8) | (f[at + 3] & 0xFF);
        if (a == lastV4) {
            return; // the common case: the address we know
        }
        int first = a >>> 24;
        if (a == 0 || a == -1 || first >= 224 || first == 127 || (a >>> 16) == 0xA9FE) {
            return; // unspecified, broadcast, multicast/reserved, loopback, link-local
        }
        lastV4 = a;
        record(Arrays.copyOfRange(f, at, at + 4));
    }

    private void v6(byte[] f, int at) {
        int b0 = f[at] & 0xFF;
        int b1 = f[at + 1] & 0xFF;
        if (b0 == 0xFF || (b0 == 0xFE && (b1 & 0xC0) == 0x80)) {
            return; // multicast, link-local
        }
        boolean zero = true;
        for (int i = 0; i < 16; i++) {
            zero &= f[at + i] == 0;
        }
        if (zero) {
            return;
        }
        record(Arrays.copyOfRange(f, at, at + 16));
    }

    private void record(byte[] a) {
        synchronized (this) {
            clock++;
            int free = -1;
            int oldest = 0;
            for (int i = 0; i < MAX; i++) {
                if (addrs[i] != null && Arrays.equals(addrs[i], a)) {
                    lastSeen[i] = clock;
                    return;
                }
                if (addrs[i] == null && free < 0) {
                    free = i;
                }
                if (lastSeen[i] < lastSeen[oldest]) {
                    oldest = i;
                }
            }
            int slot = free >= 0 ? free : oldest;
            addrs[slot] = a;
            lastSeen[slot] = clock;
            firstSeen[slot] = clock;
        }
        changed.run();
    }

    /** The addresses, IPv4 first, each family in the order the guest first used them. */
    public synchronized List<String> addresses() {
        List<Integer> slots = new ArrayList<>();
        for (int i = 0; i < MAX; i++) {
            if (addrs[i] != null) {
                slots.add(i);
            }
        }
        slots.sort(Comparator.<Integer>comparingInt(i -> addrs[i].length).thenComparingLong(i -> firstSeen[i]));
        List<String> out = new ArrayList<>();
        for (int i : slots) {
            try {
                out.add(InetAddress.getByAddress(addrs[i]).getHostAddress());
            } catch (UnknownHostException e) {
                // 4 or 16 bytes: cannot happen
            }
        }
        return out;
    }
}
