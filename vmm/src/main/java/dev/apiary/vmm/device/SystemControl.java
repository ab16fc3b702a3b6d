package dev.apiary.vmm.device;

/** What a device may ask of the whole machine (chipset reset registers, ACPI sleep states). */
public interface SystemControl {
    /** A guest-initiated reset (0xCF9, keyboard controller pulse, ACPI reset register). */
    void requestReset(String source);

    /** A guest-initiated power-off (ACPI S5). */
    void requestPowerOff(String source);
}
