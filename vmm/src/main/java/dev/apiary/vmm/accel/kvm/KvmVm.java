package dev.apiary.vmm.accel.kvm;

import static dev.apiary.vmm.accel.kvm.KvmAbi.*;

import dev.apiary.vmm.memory.AnonymousRam;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import dev.apiary.vmm.os.EventFd;
import dev.apiary.vmm.os.Native;
import dev.apiary.vmm.os.NativeStruct;
import java.util.ArrayList;
import java.util.List;

/**
 * A KVM virtual machine: guest RAM slots, the in-kernel interrupt controllers (PIC, IOAPIC, local APICs)
 * and PIT, interrupt injection (IRQ lines, MSIs, irqfds) and ioeventfds. Injection methods are safe to call
 * from any thread.
 */
public final class KvmVm implements AutoCloseable {
    /**
     * Where KVM keeps its real-mode TSS (three pages) and identity page table (one page), as QEMU places them:
     * above the local APIC and below the system flash (0xFFC00000 and up for a 4 MiB OVMF), which a read-only
     * memory slot there must not overlap.
     */
    private static final long TSS_ADDR = 0xFEFF_D000L;
    private static final long IDENTITY_MAP_ADDR = 0xFEFF_C000L;

    private final Kvm kvm;
    private final int fd;
    private final List<AnonymousRam> rams = new ArrayList<>();
    private final ThreadLocal<NativeStruct> irqLevel = ThreadLocal.withInitial(() -> new NativeStruct(SIZEOF_IRQ_LEVEL));
    private final ThreadLocal<NativeStruct> msi = ThreadLocal.withInitial(() -> new NativeStruct(SIZEOF_MSI));
    private int nextSlot;

    KvmVm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    public Kvm kvm() {
        return kvm;
    }

    /** Creates the in-kernel PIC + IOAPIC + local APICs and the PIT, as a PC has them. */
    public void createPlatform() {
        KvmException.ioctl(fd, KVM_SET_TSS_ADDR, TSS_ADDR, "KVM_SET_TSS_ADDR");
        NativeStruct idmap = new NativeStruct(8);
        idmap.buf().putLong(0, IDENTITY_MAP_ADDR);
        KvmException.ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, idmap.address(), "KVM_SET_IDENTITY_MAP_ADDR");
        KvmException.ioctl(fd, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
        NativeStruct pit = new NativeStruct(SIZEOF_PIT_CONFIG);
        // Without SPEAKER_DUMMY port 0x61 (channel-2 gate and output) exits to userspace, where nothing claims
        // it: a guest calibrating its clocks on PIT channel 2 (Linux's pit_calibrate_tsc) reads 0xFF forever.
        pit.buf().putInt(PIT_CONFIG_FLAGS, KVM_PIT_SPEAKER_DUMMY);
        KvmException.ioctl(fd, KVM_CREATE_PIT2, pit.address(), "KVM_CREATE_PIT2");
    }

    /**
     * Allocates anonymous host memory for each (gpa, size) region, gives it to the guest as memory slots and
     * returns the bounds-checked view of it.
     */
    public GuestMemory mapRam(long... gpaAndSize) {
        AnonymousRam r = AnonymousRam.map(gpaAndSize);
        rams.add(r);
        for (GuestMemory.Region region : r.regions()) {
            setUserMemoryRegion(nextSlot++, region.gpa(), region.size(), region.hostAddress());
        }
        return r.memory();
    }

    /**
     * Gives the guest a read-only memory slot with these contents (KVM_MEM_READONLY, api.rst "4.35
     * KVM_SET_USER_MEMORY_REGION"): reads and instruction fetches are served by KVM, writes exit as MMIO.
     */
    public void mapReadOnly(long gpa, byte[] contents) {
        // host memory for the slot, filled through a view that starts at 0 (GuestMemory wants GiB-aligned regions)
        AnonymousRam r = AnonymousRam.map(0, contents.length);
        rams.add(r);
        try {
            r.memory().write(0, contents);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("read-only slot of " + contents.length + " bytes", e);
        }
        setUserMemoryRegion(nextSlot++, gpa, contents.length, r.regions().get(0).hostAddress(), KVM_MEM_READONLY);
    }

    private void setUserMemoryRegion(int slot, long gpa, long size, long hostAddr) {
        setUserMemoryRegion(slot, gpa, size, hostAddr, 0);
    }

    private void setUserMemoryRegion(int slot, long gpa, long size, long hostAddr, int flags) {
        NativeStruct r = new NativeStruct(SIZEOF_USERSPACE_MEMORY_REGION);
        r.buf().putInt(MEMREGION_SLOT, slot).putInt(MEMREGION_FLAGS, flags).putLong(MEMREGION_GUEST_PHYS_ADDR, gpa)
                .putLong(MEMREGION_MEMORY_SIZE, size).putLong(MEMREGION_USERSPACE_ADDR, hostAddr);
        KvmException.ioctl(fd, KVM_SET_USER_MEMORY_REGION, r.address(), "KVM_SET_USER_MEMORY_REGION");
    }

    public KvmVcpu createVcpu(int index) {
        int vfd = KvmException.ioctl(fd, KVM_CREATE_VCPU, index, "KVM_CREATE_VCPU " + index);
        return new KvmVcpu(this, vfd, index, kvm.vcpuMmapSize());
    }

    /** Sets the level of an interrupt line: ISA IRQs 0–15 reach PIC and IOAPIC, GSIs 16–23 the IOAPIC. */
    public void setIrqLine(int irq, boolean level) {
        NativeStruct s = irqLevel.get();
        s.buf().putInt(IRQ_LEVEL_IRQ, irq).putInt(IRQ_LEVEL_LEVEL, level ? 1 : 0);
        KvmException.ioctl(fd, KVM_IRQ_LINE, s.address(), "KVM_IRQ_LINE");
    }

    /** Injects a message-signalled interrupt. Returns false if the guest blocked it (e.g. a bad address). */
    public boolean signalMsi(long address, int data) {
        NativeStruct s = msi.get();
        s.clear();
        s.buf().putInt(MSI_ADDRESS_LO, (int) address).putInt(MSI_ADDRESS_HI, (int) (address >>> 32)).putInt(MSI_DATA, data);
        return Native.libc().ioctl(fd, KVM_SIGNAL_MSI, s.address()) > 0;
    }

    /** Routes writes to {@code eventFd} into an edge on {@code gsi}. */
    public void assignIrqfd(EventFd eventFd, int gsi) {
        NativeStruct s = new NativeStruct(SIZEOF_IRQFD);
        s.buf().putInt(IRQFD_FD, eventFd.fd()).putInt(IRQFD_GSI, gsi);
        KvmException.ioctl(fd, KVM_IRQFD, s.address(), "KVM_IRQFD");
    }

    public void deassignIrqfd(EventFd eventFd, int gsi) {
        NativeStruct s = new NativeStruct(SIZEOF_IRQFD);
        s.buf().putInt(IRQFD_FD, eventFd.fd()).putInt(IRQFD_GSI, gsi).putInt(IRQFD_FLAGS, KVM_IRQFD_FLAG_DEASSIGN);
        KvmException.ioctl(fd, KVM_IRQFD, s.address(), "KVM_IRQFD deassign");
    }

    /**
     * Makes guest writes of {@code len} bytes at {@code addr} (MMIO, or a port when {@code pio}) signal
     * {@code eventFd} inside KVM instead of exiting to userspace: the doorbell path of a device thread.
     */
    public void ioeventfd(EventFd eventFd, long addr, int len, boolean pio, boolean assign) {
        NativeStruct s = new NativeStruct(SIZEOF_IOEVENTFD);
        int flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
        s.buf().putLong(IOEVENTFD_ADDR, addr).putInt(IOEVENTFD_LEN, len).putInt(IOEVENTFD_FD, eventFd.fd())
                .putInt(IOEVENTFD_FLAGS, flags);
        KvmException.ioctl(fd, KVM_IOEVENTFD, s.address(), assign ? "KVM_IOEVENTFD" : "KVM_IOEVENTFD deassign");
    }

    /** The state of one in-kernel interrupt controller chip (for reset: saved at creation, restored later). */
    public byte[] irqchipState(int chip) {
        NativeStruct s = new NativeStruct(SIZEOF_IRQCHIP);
        s.buf().putInt(IRQCHIP_CHIP_ID, chip);
        KvmException.ioctl(fd, KVM_GET_IRQCHIP, s.address(), "KVM_GET_IRQCHIP");
        return s.bytes();
    }

    public void setIrqchipState(byte[] state) {
        NativeStruct s = new NativeStruct(SIZEOF_IRQCHIP);
        s.setBytes(state);
        KvmException.ioctl(fd, KVM_SET_IRQCHIP, s.address(), "KVM_SET_IRQCHIP");
    }

    public byte[] pitState() {
        NativeStruct s = new NativeStruct(SIZEOF_PIT_STATE2);
        KvmException.ioctl(fd, KVM_GET_PIT2, s.address(), "KVM_GET_PIT2");
        return s.bytes();
    }

    public void setPitState(byte[] state) {
        NativeStruct s = new NativeStruct(SIZEOF_PIT_STATE2);
        s.setBytes(state);
        KvmException.ioctl(fd, KVM_SET_PIT2, s.address(), "KVM_SET_PIT2");
    }

    @Override
    public void close() {
        Native.libc().close(fd);
        rams.forEach(AnonymousRam::close);
        rams.clear();
    }
}
