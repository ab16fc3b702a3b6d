package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.os.Native;
import dev.apiary.vmm.os.LibC;
import dev.apiary.vmm.os.NativeStruct;

import com.kenai.jffi.Library;

/**
 * Gets a vCPU thread out of KVM_RUN. A private real-time signal is installed once with {@code sigaction},
 * its handler a harmless native function (libc's {@code getpid}): no Java code runs on a kick, and the
 * signal interrupts KVM_RUN with EINTR. To kick: set {@code immediate_exit} in kvm_run (covers a vCPU that
 * is about to enter), then {@code pthread_kill} the vCPU's thread. A signal set to SIG_IGN would never
 * interrupt KVM_RUN, and {@code immediate_exit} alone does not stop a vCPU already inside (ENVIRONMENT.md).
 */
public final class VcpuKicker {
    private static final int SIZEOF_SIGACTION = 152;
    private static volatile int signal;

    private VcpuKicker() {}

    /** Installs the handler (idempotent) and returns the signal number used. */
    public static synchronized int install() {
        if (signal != 0) {
            return signal;
        }
        LibC libc = Native.libc();
        int sig = libc.__libc_current_sigrtmin() + 6;
        long handler = Library.getCachedInstance("libc.so.6", Library.LAZY | Library.GLOBAL).getSymbolAddress("getpid");
        // (the same libc handle JffiLibC uses; getpid is async-signal-safe and touches no state)
        if (handler == 0) {
            throw new KvmException("cannot find a native no-op for the vCPU kick signal handler");
        }
        NativeStruct act = new NativeStruct(SIZEOF_SIGACTION);
        // struct sigaction (glibc x86-64): sa_handler at 0, sa_mask (128 bytes, empty) at 8, sa_flags at 136.
        act.buf().putLong(0, handler);
        if (libc.sigaction(sig, act.address(), 0) != 0) {
            throw new KvmException("sigaction for the vCPU kick signal", Native.errno());
        }
        signal = sig;
        return sig;
    }

    /** The calling thread's pthread id; read it on the vCPU thread before it first enters KVM_RUN. */
    public static long currentThread() {
        return Native.libc().pthread_self();
    }

    public static void kick(KvmVcpu vcpu, long pthread) {
        vcpu.requestImmediateExit();
        if (pthread != 0) {
            Native.libc().pthread_kill(pthread, install());
        }
    }
}
