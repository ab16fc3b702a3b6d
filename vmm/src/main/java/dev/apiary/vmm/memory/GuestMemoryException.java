package dev.apiary.vmm.memory;

/** A guest-supplied address range that is not (entirely) guest RAM. Devices turn it into a guest-visible error. */
public final class GuestMemoryException extends Exception {
    private final long address;
    private final long length;

    public GuestMemoryException(long address, long length) {
        super(String.format("guest address range 0x%x+0x%x is not guest RAM", address, length));
        this.address = address;
        this.length = length;
    }

    public long address() {
        return address;
    }

    public long length() {
        return length;
    }
}
