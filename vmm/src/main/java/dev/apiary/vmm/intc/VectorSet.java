package dev.apiary.vmm.intc;

import java.util.Arrays;

/** A set of the 256 interrupt vectors (the LAPIC's IRR, ISR and TMR), highest-first lookups. Not thread-safe. */
final class VectorSet {
    private final long[] words = new long[4];

    void set(int vector) {
        words[(vector >> 6) & 3] |= 1L << vector;
    }

    void clear(int vector) {
        words[(vector >> 6) & 3] &= ~(1L << vector);
    }

    boolean contains(int vector) {
        return (words[(vector >> 6) & 3] & (1L << vector)) != 0;
    }

    /** The highest vector in the set, or -1 when empty. */
    int highest() {
        for (int w = 3; w >= 0; w--) {
            if (words[w] != 0) {
                return (w << 6) | (63 - Long.numberOfLeadingZeros(words[w]));
            }
        }
        return -1;
    }

    /** Bits {@code 32*index .. 32*index+31}, as the APIC's eight 32-bit registers per set show them. */
    int register(int index) {
        return (int) (words[(index >> 1) & 3] >>> ((index & 1) * 32));
    }

    void clearAll() {
        Arrays.fill(words, 0);
    }
}
