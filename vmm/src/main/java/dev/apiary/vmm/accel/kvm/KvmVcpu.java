package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.os.Native;
import dev.apiary.vmm.os.LibC;
import dev.apiary.vmm.os.NativeStruct;

import static dev.apiary.vmm.accel.kvm.KvmAbi.*;

import java.nio.ByteBuffer;

/**
 * One KVM vCPU: its fd, the shared {@code kvm_run} page, and register access. All methods except
 * {@link #requestImmediateExit()} must be called on the vCPU's own thread (or while it is not running).
 */
public final class KvmVcpu implements AutoCloseable {
    private final KvmVm vm;
    private final int fd;
    private final int index;
    private final long runMapping;
    private final int runSize;
    private final ByteBuffer run;
    private final NativeStruct regs = new NativeStruct(SIZEOF_REGS);
    private final NativeStruct sregs = new NativeStruct(SIZEOF_SREGS);

    KvmVcpu(KvmVm vm, int fd, int index, int mmapSize) {
        this.vm = vm;
        this.fd = fd;
        this.index = index;
        this.runSize = mmapSize;
        this.runMapping = Native.libc().mmap(0, mmapSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0);
        if (runMapping == -1L || runMapping == 0) {
            throw new KvmException("mmap of kvm_run for vCPU " + index, Native.errno());
        }
        this.run = Native.buffer(runMapping, mmapSize);
    }

    public int index() {
        return index;
    }

    public KvmVm vm() {
        return vm;
    }

    /** The kvm_run page (little-endian, absolute offsets from {@link KvmAbi}). */
    public ByteBuffer runPage() {
        return run;
    }

    /**
     * Enters the guest. Returns the exit reason, or -1 when KVM_RUN was interrupted by a signal (a kick) or
     * refused because {@code immediate_exit} was set.
     */
    public int run() {
        int r = Native.libc().ioctl(fd, KVM_RUN, 0);
        if (r < 0) {
            int errno = Native.errno();
            if (errno == LibC.EINTR || errno == LibC.EAGAIN) {
                return -1;
            }
            throw new KvmException("KVM_RUN on vCPU " + index, errno);
        }
        return run.getInt(RUN_EXIT_REASON);
    }

    /** Sets kvm_run.immediate_exit, so the next (or an interrupted) KVM_RUN returns at once. */
    public void requestImmediateExit() {
        run.put(RUN_IMMEDIATE_EXIT, (byte) 1);
    }

    public void clearImmediateExit() {
        run.put(RUN_IMMEDIATE_EXIT, (byte) 0);
    }

    /** Reads general registers into the buffer returned (offsets REGS_*). */
    public ByteBuffer getRegs() {
        KvmException.ioctl(fd, KVM_GET_REGS, regs.address(), "KVM_GET_REGS");
        return regs.buf();
    }

    /** Writes the buffer from {@link #getRegs()} / {@link #regsBuffer()} back. */
    public void setRegs() {
        KvmException.ioctl(fd, KVM_SET_REGS, regs.address(), "KVM_SET_REGS");
    }

    public ByteBuffer regsBuffer() {
        return regs.buf();
    }

    public ByteBuffer sregsBuffer() {
        return sregs.buf();
    }

    public ByteBuffer getSregs() {
        KvmException.ioctl(fd, KVM_GET_SREGS, sregs.address(), "KVM_GET_SREGS");
        return sregs.buf();
    }

    public void setSregs() {
        KvmException.ioctl(fd, KVM_SET_SREGS, sregs.address(), "KVM_SET_SREGS");
    }

    public void setCpuid(CpuidEntries entries) {
        NativeStruct s = entries.toNative();
        KvmException.ioctl(fd, KVM_SET_CPUID2, s.address(), "KVM_SET_CPUID2");
    }

    /** Sets MSRs given as (index, value) pairs; returns how many KVM accepted (it stops at the first refusal). */
    public int setMsrs(long... indexAndValue) {
        int n = indexAndValue.length / 2;
        NativeStruct s = new NativeStruct(SIZEOF_MSRS + n * SIZEOF_MSR_ENTRY);
        s.buf().putInt(MSRS_NMSRS, n);
        for (int i = 0; i < n; i++) {
            int o = MSRS_ENTRIES + i * SIZEOF_MSR_ENTRY;
            s.buf().putInt(o + MSR_ENTRY_INDEX, (int) indexAndValue[2 * i]).putLong(o + MSR_ENTRY_DATA, indexAndValue[2 * i + 1]);
        }
        return KvmException.ioctl(fd, KVM_SET_MSRS, s.address(), "KVM_SET_MSRS");
    }

    /** x87 control word and MXCSR at their power-on values, everything else zero. */
    public void resetFpu() {
        NativeStruct s = new NativeStruct(SIZEOF_FPU);
        s.buf().putShort(FPU_FCW, (short) 0x37F).putInt(FPU_MXCSR, 0x1F80);
        KvmException.ioctl(fd, KVM_SET_FPU, s.address(), "KVM_SET_FPU");
    }

    public byte[] getLapic() {
        NativeStruct s = new NativeStruct(SIZEOF_LAPIC_STATE);
        KvmException.ioctl(fd, KVM_GET_LAPIC, s.address(), "KVM_GET_LAPIC");
        return s.bytes();
    }

    public void setLapic(byte[] state) {
        NativeStruct s = new NativeStruct(SIZEOF_LAPIC_STATE);
        s.setBytes(state);
        KvmException.ioctl(fd, KVM_SET_LAPIC, s.address(), "KVM_SET_LAPIC");
    }

    public int getMpState() {
        NativeStruct s = new NativeStruct(SIZEOF_MP_STATE);
        KvmException.ioctl(fd, KVM_GET_MP_STATE, s.address(), "KVM_GET_MP_STATE");
        return s.buf().getInt(0);
    }

    public void setMpState(int state) {
        NativeStruct s = new NativeStruct(SIZEOF_MP_STATE);
        s.buf().putInt(0, state);
        KvmException.ioctl(fd, KVM_SET_MP_STATE, s.address(), "KVM_SET_MP_STATE");
    }

    /** Queues an NMI for this vCPU. */
    public void nmi() {
        KvmException.ioctl(fd, KVM_NMI, 0, "KVM_NMI");
    }

    @Override
    public void close() {
        Native.libc().munmap(runMapping, runSize);
        Native.libc().close(fd);
    }
}
