package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.os.Native;
import dev.apiary.vmm.os.LibC;
import dev.apiary.vmm.os.NativeStruct;

import static dev.apiary.vmm.accel.kvm.KvmAbi.*;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/** The system-level KVM handle ({@code /dev/kvm}). */
public final class Kvm implements AutoCloseable {
    /** The KVM device; the system property {@code apiary.kvm.device} overrides it (tests, unusual hosts). */
    public static final Path DEVICE = Path.of(System.getProperty("apiary.kvm.device", "/dev/kvm"));
    private static final int MAX_CPUID_ENTRIES = 256;

    private final int fd;
    private final int vcpuMmapSize;

    private Kvm(int fd) {
        this.fd = fd;
        int version = KvmException.ioctl(fd, KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION");
        if (version != 12) {
            throw new KvmException("/dev/kvm speaks KVM API version " + version + ", this VMM needs 12");
        }
        for (int cap : new int[] {KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_SET_TSS_ADDR, KVM_CAP_EXT_CPUID,
                KVM_CAP_PIT2, KVM_CAP_IRQFD, KVM_CAP_IOEVENTFD, KVM_CAP_SIGNAL_MSI, KVM_CAP_IMMEDIATE_EXIT}) {
            if (checkExtension(cap) <= 0) {
                throw new KvmException("this KVM lacks a capability the VMM needs (KVM_CAP number " + cap + ")");
            }
        }
        this.vcpuMmapSize = KvmException.ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
    }

    /** Why KVM cannot be used here, or null if /dev/kvm is there to try. */
    public static String unavailableReason() {
        if (!Files.exists(DEVICE)) {
            return DEVICE + " does not exist (KVM module not loaded, or not exposed to this container)";
        }
        if (!Files.isReadable(DEVICE) || !Files.isWritable(DEVICE)) {
            return DEVICE + " is not readable and writable by this user";
        }
        return null;
    }

    public static Kvm open() {
        int fd = Native.libc().open(DEVICE.toString(), LibC.O_RDWR | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw new KvmException("open " + DEVICE, Native.errno());
        }
        try {
            return new Kvm(fd);
        } catch (RuntimeException e) {
            Native.libc().close(fd);
            throw e;
        }
    }

    public int checkExtension(int cap) {
        return Native.libc().ioctl(fd, KVM_CHECK_EXTENSION, cap);
    }

    public int maxVcpus() {
        int max = checkExtension(KVM_CAP_MAX_VCPUS);
        return max > 0 ? max : Math.max(checkExtension(KVM_CAP_NR_VCPUS), 4);
    }

    int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /** The CPUID leaves this host's KVM supports, as a list the VMM adjusts per vCPU. */
    public CpuidEntries supportedCpuid() {
        NativeStruct s = new NativeStruct(SIZEOF_CPUID2 + MAX_CPUID_ENTRIES * SIZEOF_CPUID_ENTRY2);
        s.buf().putInt(CPUID2_NENT, MAX_CPUID_ENTRIES);
        KvmException.ioctl(fd, KVM_GET_SUPPORTED_CPUID, s.address(), "KVM_GET_SUPPORTED_CPUID");
        int n = s.buf().getInt(CPUID2_NENT);
        ByteBuffer b = s.buf();
        CpuidEntries entries = new CpuidEntries();
        for (int i = 0; i < n; i++) {
            int o = CPUID2_ENTRIES + i * SIZEOF_CPUID_ENTRY2;
            entries.add(new CpuidEntries.Entry(b.getInt(o + CPUID_ENTRY_FUNCTION), b.getInt(o + CPUID_ENTRY_INDEX),
                    b.getInt(o + CPUID_ENTRY_FLAGS), b.getInt(o + CPUID_ENTRY_EAX), b.getInt(o + CPUID_ENTRY_EBX),
                    b.getInt(o + CPUID_ENTRY_ECX), b.getInt(o + CPUID_ENTRY_EDX)));
        }
        return entries;
    }

    public KvmVm createVm() {
        int vmfd = KvmException.ioctl(fd, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
        return new KvmVm(this, vmfd);
    }

    @Override
    public void close() {
        Native.libc().close(fd);
    }
}
