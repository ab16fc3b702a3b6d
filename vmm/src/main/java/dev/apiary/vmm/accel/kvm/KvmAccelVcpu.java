package dev.apiary.vmm.accel.kvm;

import static dev.apiary.vmm.accel.kvm.KvmAbi.*;

import dev.apiary.vmm.accel.AccelVcpu;
import dev.apiary.vmm.boot.BootState;
import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A KVM vCPU behind the seam: a plain loop of KVM_RUN and exit dispatch. Port and MMIO exits go to the buses;
 * anything that ends the guest's run is returned. {@link #kick()} gets the thread out of KVM_RUN from any
 * thread; vCPU ioctls that other threads ask for (KVM_NMI) are run on the vCPU thread between two KVM_RUNs.
 */
final class KvmAccelVcpu implements AccelVcpu {
    private final KvmVcpu kvm;
    private final GuestMemory memory;
    private final ConcurrentLinkedQueue<Runnable> requests = new ConcurrentLinkedQueue<>();
    private volatile boolean kicked;
    private volatile long pthread;
    private byte[] initialLapic;

    KvmAccelVcpu(KvmVcpu kvm, GuestMemory memory) {
        this.kvm = kvm;
        this.memory = memory;
    }

    @Override
    public int index() {
        return kvm.index();
    }

    @Override
    public void powerOn() {
        if (initialLapic == null) {
            VcpuSetup.powerOn(kvm);
            initialLapic = kvm.getLapic();
        } else {
            kvm.setLapic(initialLapic);
            VcpuSetup.powerOn(kvm);
            kvm.setMpState(KVM_MP_STATE_RUNNABLE);
        }
    }

    @Override
    public void enter(BootState boot) {
        VcpuSetup.enter(kvm, boot);
    }

    @Override
    public void enterResetVector() {
        VcpuSetup.resetVector(kvm);
        kvm.setMpState(KVM_MP_STATE_RUNNABLE);
    }

    @Override
    public void waitForStartup() {
        kvm.setMpState(KVM_MP_STATE_UNINITIALIZED);
    }

    @Override
    public void kick() {
        kicked = true;
        VcpuKicker.kick(kvm, pthread);
    }

    @Override
    public void clearKick() {
        kicked = false;
        kvm.clearImmediateExit();
    }

    @Override
    public void nmi() {
        requests.add(kvm::nmi);
        VcpuKicker.kick(kvm, pthread);
    }

    @Override
    public String describe() {
        return "";
    }

    @Override
    public GuestStop run(Bus ports, Bus mmio) {
        VcpuKicker.install();
        pthread = VcpuKicker.currentThread();
        ByteBuffer run = kvm.runPage();
        try {
            while (true) {
                for (Runnable r; (r = requests.poll()) != null; ) {
                    r.run();
                }
                if (kicked) {
                    kicked = false;
                    return null;
                }
                int reason = kvm.run();
                VmExit exit = VmExit.decode(reason, run);
                if (exit instanceof VmExit.Interrupted) {
                    // A kick, or posted work: immediate_exit stays set until this thread clears it.
                    kvm.clearImmediateExit();
                    continue;
                }
                GuestStop stop = dispatch(exit, run, ports, mmio);
                if (stop != null) {
                    return stop;
                }
            }
        } finally {
            pthread = 0;
        }
    }

    /** Handles one exit; returns non-null when the guest's run is over. */
    private GuestStop dispatch(VmExit exit, ByteBuffer run, Bus ports, Bus mmio) {
        if (exit instanceof VmExit.Io io) {
            int off = io.dataOffset();
            for (int i = 0; i < io.count(); i++, off += io.size()) {
                if (io.in()) {
                    putData(run, off, io.size(), ports.read(io.port(), io.size()));
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
                    ByteBuffer s = kvm.getSregs();
                    boolean paging = (s.getLong(SREGS_CR0) & (1L << 31)) != 0;
                    long linear = s.getLong(SREGS_CS + SEG_BASE) + rip;
                    insn = PageWalk.read(memory, paging, s.getLong(SREGS_CR3), linear, 15);
                }
                return new GuestStop.EmulationFailure(kvm.index(), rip, insn, HostFacts.hostEmulatesKernelMode());
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

    @Override
    public void close() {
        kvm.close();
    }
}
