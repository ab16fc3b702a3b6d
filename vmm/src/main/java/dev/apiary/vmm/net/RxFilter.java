package dev.apiary.vmm.net;

import java.util.Arrays;

/**
 * Which frames the guest wants (virtio 1.2 §5.1.6.5.1–2): all in promiscuous mode; otherwise broadcast,
 * its own address and the unicast table, and multicast in all-multicast mode or from the multicast table.
 * A table longer than the device keeps overflows into accepting that whole class, as QEMU does. Immutable:
 * the control queue swaps in a new one.
 */
record RxFilter(boolean promisc, boolean allMulti, long mac, long[] unicast, long[] multicast,
        boolean unicastOverflow, boolean multicastOverflow) {
    private static final long BROADCAST = 0xFFFF_FFFF_FFFFL;

    /** After reset: promiscuous, as QEMU's device starts (Linux turns it off once it runs). */
    static RxFilter initial(MacAddress mac) {
        return new RxFilter(true, false, mac.value(), new long[0], new long[0], false, false);
    }

    boolean accepts(long dst) {
        if (promisc || dst == BROADCAST) {
            return true;
        }
        if ((dst & 0x0100_0000_0000L) != 0) {
            return allMulti || multicastOverflow || contains(multicast, dst);
        }
        return dst == mac || unicastOverflow || contains(unicast, dst);
    }

    private static boolean contains(long[] table, long v) {
        for (long x : table) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    RxFilter withPromisc(boolean on) {
        return new RxFilter(on, allMulti, mac, unicast, multicast, unicastOverflow, multicastOverflow);
    }

    RxFilter withAllMulti(boolean on) {
        return new RxFilter(promisc, on, mac, unicast, multicast, unicastOverflow, multicastOverflow);
    }

    RxFilter withMac(long m) {
        return new RxFilter(promisc, allMulti, m, unicast, multicast, unicastOverflow, multicastOverflow);
    }

    RxFilter withTables(long[] uni, long[] multi, int limit) {
        return new RxFilter(promisc, allMulti, mac, Arrays.copyOf(uni, Math.min(uni.length, limit)),
                Arrays.copyOf(multi, Math.min(multi.length, limit)), uni.length > limit, multi.length > limit);
    }
}
