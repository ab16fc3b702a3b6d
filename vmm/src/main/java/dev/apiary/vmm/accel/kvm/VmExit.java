package dev.apiary.vmm.accel.kvm;

import static dev.apiary.vmm.accel.kvm.KvmAbi.*;

import java.nio.ByteBuffer;

/** Why KVM_RUN returned, decoded from the kvm_run page. The run loop dispatches on these in one place. */
public sealed interface VmExit {
    /** Port I/O: {@code count} accesses of {@code size} bytes, data in kvm_run at {@code dataOffset}. */
    record Io(int port, int size, boolean in, int count, int dataOffset) implements VmExit {}

    /** MMIO: data in kvm_run at RUN_MMIO_DATA. */
    record Mmio(long address, int length, boolean write) implements VmExit {}

    /** HLT (only without the in-kernel local APIC). */
    record Hlt() implements VmExit {}

    /** The vCPU shut down: a triple fault. */
    record Shutdown() implements VmExit {}

    /** KVM reports a system event (a PSCI-style reset or shutdown). */
    record SystemEvent(int type) implements VmExit {}

    /** KVM could not handle something, most often an instruction its emulator cannot run. */
    record InternalError(int suberror, long[] data) implements VmExit {
        public boolean emulationFailure() {
            return suberror == KVM_INTERNAL_ERROR_EMULATION;
        }
    }

    /** VM entry failed (invalid guest state). */
    record FailEntry(long hardwareReason) implements VmExit {}

    /** KVM_RUN was interrupted (a kick) or KVM wants userspace to look at pending signals. */
    record Interrupted() implements VmExit {}

    /** An exit reason the VMM does not handle. */
    record Unhandled(int reason) implements VmExit {}

    static VmExit decode(int reason, ByteBuffer run) {
        switch (reason) {
            case -1:
            case KVM_EXIT_INTR:
                return new Interrupted();
            case KVM_EXIT_IO:
                return new Io(run.getShort(RUN_IO_PORT) & 0xFFFF, run.get(RUN_IO_SIZE),
                        run.get(RUN_IO_DIRECTION) == KVM_EXIT_IO_IN, run.getInt(RUN_IO_COUNT),
                        (int) run.getLong(RUN_IO_DATA_OFFSET));
            case KVM_EXIT_MMIO:
                return new Mmio(run.getLong(RUN_MMIO_PHYS_ADDR), run.getInt(RUN_MMIO_LEN), run.get(RUN_MMIO_IS_WRITE) != 0);
            case KVM_EXIT_HLT:
                return new Hlt();
            case KVM_EXIT_SHUTDOWN:
                return new Shutdown();
            case KVM_EXIT_SYSTEM_EVENT:
                return new SystemEvent(run.getInt(RUN_SYSTEM_EVENT_TYPE));
            case KVM_EXIT_INTERNAL_ERROR: {
                int n = Math.min(Math.max(run.getInt(RUN_INTERNAL_NDATA), 0), 16);
                long[] data = new long[n];
                for (int i = 0; i < n; i++) {
                    data[i] = run.getLong(RUN_INTERNAL_DATA + 8 * i);
                }
                return new InternalError(run.getInt(RUN_INTERNAL_SUBERROR), data);
            }
            case KVM_EXIT_FAIL_ENTRY:
                return new FailEntry(run.getLong(RUN_FAIL_ENTRY_REASON));
            default:
                return new Unhandled(reason);
        }
    }
}
