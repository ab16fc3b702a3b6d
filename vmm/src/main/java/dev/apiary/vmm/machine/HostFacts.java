package dev.apiary.vmm.machine;

import dev.apiary.vmm.cpu.HostProbe;

/**
 * The host capability probe's verdict, computed at most once per process and only when needed: a VMM that
 * never sees an emulation failure never pays the probe's ~60 ms (on an emulating host) at boot.
 */
public final class HostFacts {
    private static final class Holder {
        static final HostProbe.Result RESULT = HostProbe.run();
    }

    private HostFacts() {}

    public static HostProbe.Result probe() {
        return Holder.RESULT;
    }

    /** True when this host's KVM emulates kernel-mode guest code (no full guests). */
    public static boolean hostEmulatesKernelMode() {
        HostProbe.Result r = probe();
        return r.kvmUsable() && !r.fullGuests();
    }
}
