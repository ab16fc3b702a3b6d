package dev.apiary.vmm.machine;

import dev.apiary.vmm.net.NetStats;
import java.util.List;

/**
 * One network interface of a running machine as the VMM reports it (state.json's {@code interfaces}, the control
 * socket): the manifest's name, the guest's MAC, the host side, and the IP addresses the guest's traffic shows.
 *
 * @param backend       {@code tap} or {@code passt}
 * @param hostInterface the TAP's name, or passt's pid as {@code passt:PID}
 * @param ipAddresses   IPv4 first; empty until the guest has sent something from an address
 */
public record GuestInterface(String name, String mac, String backend, String hostInterface, int queues,
        List<String> ipAddresses, NetStats stats) {}
