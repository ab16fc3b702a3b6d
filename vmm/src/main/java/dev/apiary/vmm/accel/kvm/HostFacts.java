package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.accel.kvm.HostProbe;

/**
 * The host capability probe's verdict, computed at most once per process and only when needed: a VMM that
 * never sees an emulation failure never pays the probe's ~60 ms (on an emulating host) at boot.
 */
public final class HostFacts {
    private static volatile HostProbe.Result result;

    private HostFacts() {}

    public static synchronized HostProbe.Result probe() {
        if (result == null) {
            result = HostProbe.run();
        }
        return result;
    }

    /** The verdict on full guests if the probe has run in this process, else null (unknown, not probed). */
    public static Boolean probeIfDone() {
        HostProbe.Result r = result;
        return r == null ? null : r.fullGuests();
    }

    /** True when this host's KVM emulates kernel-mode guest code (no full guests). */
    public static boolean hostEmulatesKernelMode() {
        HostProbe.Result r = probe();
        return r.kvmUsable() && !r.fullGuests();
    }
}
