package dev.apiary.vmm.device;

/** A wire to an interrupt controller input (an ISA IRQ or a GSI on the in-kernel PIC/IOAPIC). */
public interface InterruptLine {
    /** Drive the line high (true) or low (false). */
    void set(boolean level);

    /** An edge: high then low. */
    default void pulse() {
        set(true);
        set(false);
    }
}
