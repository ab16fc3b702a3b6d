package dev.apiary.vmm.pci;

/**
 * A capability a device declares: its ID and the bytes that follow the two-byte header (ID, next pointer),
 * with a mask of the bits the guest may write. The builder links capabilities into the list and places
 * them in configuration space.
 */
public record PciCapability(int id, byte[] body, byte[] writableMask) {
    public PciCapability {
        if (id <= 0 || id > 0xFF) {
            throw new IllegalArgumentException("bad capability ID " + id);
        }
        if (writableMask.length != body.length) {
            throw new IllegalArgumentException("mask and body lengths differ");
        }
        body = body.clone();
        writableMask = writableMask.clone();
    }

    /** A capability the guest can only read. */
    public static PciCapability readOnly(int id, byte[] body) {
        return new PciCapability(id, body, new byte[body.length]);
    }

    /** Length in configuration space, header included. */
    public int length() {
        return 2 + body.length;
    }
}
