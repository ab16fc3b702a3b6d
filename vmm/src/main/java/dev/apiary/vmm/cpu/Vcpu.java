package dev.apiary.vmm.cpu;

import static dev.apiary.vmm.kvm.KvmAbi.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.kvm.KvmVcpu;
import dev.apiary.vmm.kvm.VcpuKicker;
import dev.apiary.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * A vCPU thread: a plain loop of KVM_RUN and exit dispatch. Port and MMIO exits go to the buses; anything
 * that ends the guest's run is reported once through {@code onStop} and ends the loop. {@link #kick()} gets
 * the thread out of KVM_RUN from any thread.
 */
public final class Vcpu {
    private final KvmVcpu kvm;
    private final Bus ports;
    private final Bus mmio;
    private final GuestMemory memory;
    private final Consumer<GuestStop> onStop;
    private final java.util.function.BooleanSupplier hostEmulatesKernelMode;
    private volatile boolean stopRequested;
    private volatile long pthread;
    private Thread thread;
    private volatile long exits;
    private final java.util.concurrent.ConcurrentLinkedQueue<java.util.function.Consumer<KvmVcpu>> requests =
            new java.util.concurrent.ConcurrentLinkedQueue<>();

    public Vcpu(KvmVcpu kvm, Bus ports, Bus mmio, GuestMemory memory, java.util.function.BooleanSupplier hostEmulatesKernelMode,
            Consumer<GuestStop> onStop) {
        this.kvm = kvm;
        this.ports = ports;
        this.mmio = mmio;
        this.memory = memory;
        this.hostEmulatesKernelMode = hostEmulatesKernelMode;
        this.onStop = onStop;
    }

    public KvmVcpu kvm() {
        return kvm;
    }

    public int index() {
        return kvm.index();
    }

    public long exits() {
        return exits;
    }

    public synchronized void start() {
        stopRequested = false;
        kvm.clearImmediateExit();
        thread = new Thread(this::loop, "vcpu-" + kvm.index());
        thread.setDaemon(true);
        thread.start();
    }

    /** Asks the loop to end and gets the thread out of KVM_RUN; {@link #join()} waits for it. */
    public void kick() {
        stopRequested = true;
        VcpuKicker.kick(kvm, pthread);
    }

    /**
     * Runs {@code action} on the vCPU thread between two KVM_RUNs (vCPU ioctls such as KVM_NMI cannot be
     * issued while another thread is inside KVM_RUN), kicking the vCPU so it happens soon.
     */
    public void post(java.util.function.Consumer<KvmVcpu> action) {
        requests.add(action);
        VcpuKicker.kick(kvm, pthread);
    }

    public void join() throws InterruptedException {
        Thread t = thread;
        if (t == null) {
            return;
        }
        // A kick can land just before the thread stores its pthread id or enters KVM_RUN; keep kicking.
        while (t.isAlive()) {
            VcpuKicker.kick(kvm, pthread);
            t.join(20);
        }
    }

    private void loop() {
        VcpuKicker.install();
        pthread = VcpuKicker.currentThread();
        ByteBuffer run = kvm.runPage();
        try {
            while (!stopRequested) {
                for (java.util.function.Consumer<KvmVcpu> r; (r = requests.poll()) != null; ) {
                    r.accept(kvm);
                }
                int reason = kvm.run();
                exits++;
                VmExit exit = VmExit.decode(reason, run);
                GuestStop stop = dispatch(exit, run);
                if (stop != null) {
                    onStop.accept(stop);
                    return;
                }
            }
        } catch (RuntimeException | Error e) {
            onStop.accept(new GuestStop.HostError("vCPU " + kvm.index() + ": " + e));
        } finally {
            pthread = 0;
        }
    }

    /** Handles one exit; returns non-null when the guest's run is over. */
    private GuestStop dispatch(VmExit exit, ByteBuffer run) {
        if (exit instanceof VmExit.Io io) {
            int off = io.dataOffset();
            for (int i = 0; i < io.count(); i++, off += io.size()) {
                if (io.in()) {
                    long v = ports.read(io.port(), io.size());
                    putData(run, off, io.size(), v);
                } else {
                    ports.write(io.port(), io.size(), getData(run, off, io.size()));
                }
            }
            return null;
        }
        if (exit instanceof VmExit.Mmio m) {
            int len = m.length();
            if (len != 1 && len != 2 && len != 4 && len != 8) {
                return null;
            }
            if (m.write()) {
                mmio.write(m.address(), len, getData(run, RUN_MMIO_DATA, len));
            } else {
                putData(run, RUN_MMIO_DATA, len, mmio.read(m.address(), len));
            }
            return null;
        }
        if (exit instanceof VmExit.Interrupted) {
            if (!stopRequested) {
                // A kick for posted work, not a stop: enter the guest again after running it.
                kvm.clearImmediateExit();
            }
            return null;
        }
        if (exit instanceof VmExit.Hlt) {
            // With the in-kernel local APIC HLT is handled inside KVM; seeing one means nothing can wake us.
            return new GuestStop.KvmFailure(kvm.index(), "HLT exit with no in-kernel APIC to wake the vCPU");
        }
        if (exit instanceof VmExit.Shutdown) {
            return new GuestStop.TripleFault(kvm.index());
        }
        if (exit instanceof VmExit.SystemEvent se) {
            return se.type() == KVM_SYSTEM_EVENT_RESET ? new GuestStop.Reset("KVM system event")
                    : new GuestStop.PowerOff("KVM system event " + se.type());
        }
        if (exit instanceof VmExit.InternalError ie) {
            long rip = kvm.getRegs().getLong(REGS_RIP);
            if (ie.emulationFailure()) {
                byte[] insn = instructionBytes(ie);
                if (insn.length == 0) {
                    java.nio.ByteBuffer s = kvm.getSregs();
                    boolean paging = (s.getLong(SREGS_CR0) & (1L << 31)) != 0;
                    long linear = s.getLong(SREGS_CS + SEG_BASE) + rip;
                    insn = PageWalk.read(memory, paging, s.getLong(SREGS_CR3), linear, 15);
                }
                return new GuestStop.EmulationFailure(kvm.index(), rip, insn,
                        hostEmulatesKernelMode.getAsBoolean());
            }
            return new GuestStop.KvmFailure(kvm.index(), String.format("internal error, suberror %d at rip 0x%x",
                    ie.suberror(), rip));
        }
        if (exit instanceof VmExit.FailEntry fe) {
            return new GuestStop.KvmFailure(kvm.index(), String.format("VM entry failed, hardware reason 0x%x",
                    fe.hardwareReason()));
        }
        return new GuestStop.KvmFailure(kvm.index(), "unhandled exit reason " + ((VmExit.Unhandled) exit).reason());
    }

    /**
     * The instruction bytes KVM reports with an emulation failure (data[] after the flags word, as
     * KVM_INTERNAL_ERROR_EMULATION with insn bytes gives them), or an empty array.
     */
    private static byte[] instructionBytes(VmExit.InternalError ie) {
        long[] d = ie.data();
        // Layout when KVM includes them: data[0] flags, data[1] insn size, data[2..3] up to 15 bytes.
        if (d.length >= 4 && (d[0] & 1) != 0) {
            int n = (int) Math.min(Math.max(d[1], 0), 15);
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = (byte) (d[2 + i / 8] >>> (8 * (i % 8)));
            }
            return b;
        }
        return new byte[0];
    }

    private static long getData(ByteBuffer run, int off, int size) {
        switch (size) {
            case 1: return run.get(off) & 0xFFL;
            case 2: return run.getShort(off) & 0xFFFFL;
            case 4: return run.getInt(off) & 0xFFFF_FFFFL;
            default: return run.getLong(off);
        }
    }

    private static void putData(ByteBuffer run, int off, int size, long v) {
        switch (size) {
            case 1: run.put(off, (byte) v); break;
            case 2: run.putShort(off, (short) v); break;
            case 4: run.putInt(off, (int) v); break;
            default: run.putLong(off, v); break;
        }
    }
}
