package dev.apiary.vmm.chipset;

/**
 * A key of a PC keyboard by its make codes: scan code set 1 (what the 8042 hands the guest when it translates,
 * the PC default) and set 2 (what the keyboard itself sends); {@code extended} keys are prefixed with 0xE0
 * in both sets. Break codes are derived: set 1 make | 0x80, set 2 0xF0 then the make code.
 */
public record Ps2Key(int set1, int set2, boolean extended) {
    public Ps2Key {
        if (set1 <= 0 || set1 > 0x7F || set2 <= 0 || set2 > 0xFF) {
            throw new IllegalArgumentException(String.format("bad make codes 0x%x/0x%x", set1, set2));
        }
    }
}
