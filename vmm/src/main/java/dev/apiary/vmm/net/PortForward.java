package dev.apiary.vmm.net;

import java.util.Locale;

/**
 * A host port forwarded to the guest by a user-mode backend (passt's {@code -t}/{@code -u}): connections or
 * datagrams to {@code hostPort} on the host arrive at {@code guestPort} in the guest.
 */
public record PortForward(Protocol protocol, int hostPort, int guestPort) {
    public enum Protocol { TCP, UDP }

    public PortForward {
        if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
            throw new IllegalArgumentException("ports are 1 to 65535: " + hostPort + ":" + guestPort);
        }
    }

    /** passt's spec for one port: {@code 8080:80}. */
    String passtSpec() {
        return hostPort + ":" + guestPort;
    }

    @Override
    public String toString() {
        return protocol.name().toLowerCase(Locale.ROOT) + " " + hostPort + " → " + guestPort;
    }
}
