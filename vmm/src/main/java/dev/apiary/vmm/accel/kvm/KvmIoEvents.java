package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.vmm.os.EventFd;
import dev.apiary.vmm.accel.kvm.KvmException;
import dev.apiary.vmm.accel.kvm.KvmVm;
import java.lang.System.Logger.Level;

/**
 * {@link IoEventRegistrar} on KVM: each routed address gets an eventfd bound with KVM_IOEVENTFD (no
 * datamatch), so a guest write to it completes inside KVM without an exit to userspace, and a small waiter
 * thread turns the eventfd's count into a callback. One thread per routed address keeps cancellation simple
 * (the number is bounded by the device: two doorbells per queue pair); an epoll loop would save threads.
 */
final class KvmIoEvents implements IoEventRegistrar {
    private static final System.Logger LOG = System.getLogger(KvmIoEvents.class.getName());

    private final KvmVm vm;

    KvmIoEvents(KvmVm vm) {
        this.vm = vm;
    }

    @Override
    public Registration register(long address, int length, Runnable onWrite) {
        EventFd fd = new EventFd(false);
        try {
            vm.ioeventfd(fd, address, length, false, true);
        } catch (KvmException e) {
            LOG.log(Level.WARNING, "KVM_IOEVENTFD at 0x" + Long.toHexString(address) + " refused, doorbell stays "
                    + "an MMIO exit: " + e.getMessage());
            fd.close();
            return null;
        }
        Waiter w = new Waiter(fd, address, length, onWrite);
        w.thread.start();
        return w;
    }

    private final class Waiter implements Registration {
        final EventFd fd;
        final long address;
        final int length;
        final Runnable onWrite;
        final Thread thread;
        volatile boolean cancelled;

        Waiter(EventFd fd, long address, int length, Runnable onWrite) {
            this.fd = fd;
            this.address = address;
            this.length = length;
            this.onWrite = onWrite;
            this.thread = new Thread(this::loop, String.format("ioeventfd-0x%x", address));
            thread.setDaemon(true);
        }

        private void loop() {
            while (!cancelled) {
                long n = fd.await();
                if (n > 0 && !cancelled) {
                    try {
                        onWrite.run();
                    } catch (RuntimeException e) {
                        LOG.log(Level.ERROR, "doorbell callback at 0x" + Long.toHexString(address) + " failed", e);
                    }
                }
            }
        }

        @Override
        public synchronized void cancel() {
            if (cancelled) {
                return;
            }
            cancelled = true;
            try {
                vm.ioeventfd(fd, address, length, false, false);
            } catch (KvmException e) {
                LOG.log(Level.WARNING, "KVM_IOEVENTFD deassign at 0x" + Long.toHexString(address) + ": " + e.getMessage());
            }
            fd.signal(); // wake the waiter so it sees the flag
            if (Thread.currentThread() != thread) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            fd.close();
        }
    }
}
