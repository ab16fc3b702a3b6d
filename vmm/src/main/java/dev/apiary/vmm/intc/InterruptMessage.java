package dev.apiary.vmm.intc;

/**
 * One interrupt message on the APIC bus, from an IOAPIC redirection entry, an MSI write or (without a
 * shorthand) an ICR write (SDM vol. 3 §11.6.1, §11.11).
 *
 * @param destination 8-bit destination field (an APIC ID, or a logical destination)
 * @param logical     logical destination mode (LDR/DFR matching) instead of physical (APIC ID)
 * @param mode        delivery mode
 * @param vector      vector (ignored for NMI, INIT, ExtINT; the start page for STARTUP)
 * @param level       level-triggered (the receiving LAPIC sets TMR and broadcasts its EOI)
 */
public record InterruptMessage(int destination, boolean logical, DeliveryMode mode, int vector, boolean level) {
    public InterruptMessage {
        destination &= 0xFF;
        vector &= 0xFF;
    }
}
