package dev.apiary.vmm.device;

/**
 * Lets a device have guest writes to one MMIO address signalled to it without a trip through the vCPU's
 * exit handler: under KVM the machine implements this with an eventfd and {@code KVM_IOEVENTFD} (no
 * datamatch), and a thread that waits on its eventfds and runs the callbacks. The written value is
 * <em>not</em> delivered, so a device only registers addresses whose value it can learn another way (NVMe
 * shadow doorbells).
 *
 * <p>Contract for implementations: after {@link #register} returns a registration, guest writes of
 * {@code length} bytes at {@code address} no longer reach the device's {@code IoHandler}; each one causes
 * {@code onWrite.run()} to be called soon after, on a thread that is not a vCPU thread, and several writes
 * may be coalesced into one call. The callback is cheap and never blocks (it wakes a device thread). After
 * {@link Registration#cancel()} returns, writes reach the {@code IoHandler} again and the callback is not
 * called any more. Register and cancel may be called from any thread, including vCPU threads inside an
 * MMIO write and threads holding a device's locks; they must not call back into the device.
 */
public interface IoEventRegistrar {
    /**
     * Routes guest writes at {@code address} (guest-physical, {@code length} 1, 2, 4 or 8 bytes) to
     * {@code onWrite}.
     *
     * @return the registration, or null when the machine cannot do it (writes keep arriving through the
     *     device's {@code IoHandler}, which must remain correct)
     */
    Registration register(long address, int length, Runnable onWrite);

    /** One routed address. */
    interface Registration {
        /** Stops routing; idempotent. */
        void cancel();
    }

    /** No routing at all: every write is an ordinary MMIO access (unit tests, hosts without ioeventfd). */
    IoEventRegistrar NONE = (address, length, onWrite) -> null;
}
