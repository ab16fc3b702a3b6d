package dev.apiary.vmm.boot;

/**
 * A segment register's hidden state, in the shape of KVM's {@code struct kvm_segment}: the vCPU code copies
 * the fields one to one. {@code limit} is in bytes (already scaled when {@code g} is set), as KVM wants it.
 */
public record Segment(int selector, long base, long limit, int type, boolean present, int dpl, boolean db,
        boolean s, boolean l, boolean g, boolean avl) {

    /**
     * The segment a far jump or {@code mov} would load from this 8-byte GDT descriptor. System descriptors in
     * long mode are 16 bytes; pass {@code high} (the second 8 bytes) for them, else 0.
     */
    public static Segment fromDescriptor(int selector, long descriptor, long high) {
        long base = ((descriptor >>> 16) & 0xFF_FFFFL) | (((descriptor >>> 56) & 0xFF) << 24);
        long rawLimit = (descriptor & 0xFFFF) | (((descriptor >>> 48) & 0xF) << 16);
        int access = (int) ((descriptor >>> 40) & 0xFF);
        int flags = (int) ((descriptor >>> 52) & 0xF);
        boolean g = (flags & 0x8) != 0;
        boolean system = (access & 0x10) == 0;
        if (system) {
            base |= (high & 0xFFFF_FFFFL) << 32;
        }
        long limit = g ? (rawLimit << 12) | 0xFFF : rawLimit;
        return new Segment(selector, base, limit, access & 0xF, (access & 0x80) != 0, (access >>> 5) & 3,
                (flags & 0x4) != 0, !system, (flags & 0x2) != 0, g, (flags & 0x1) != 0);
    }

    public static Segment fromDescriptor(int selector, long descriptor) {
        return fromDescriptor(selector, descriptor, 0);
    }

    /** Builds the low 8 bytes of a GDT descriptor: base 0–31, 20-bit limit, access byte and flag nibble. */
    static long descriptor(long base, long limit20, int access, int flags) {
        return (limit20 & 0xFFFF)
                | ((base & 0xFF_FFFFL) << 16)
                | ((long) (access & 0xFF) << 40)
                | ((limit20 >>> 16 & 0xF) << 48)
                | ((long) (flags & 0xF) << 52)
                | (((base >>> 24) & 0xFF) << 56);
    }
}
