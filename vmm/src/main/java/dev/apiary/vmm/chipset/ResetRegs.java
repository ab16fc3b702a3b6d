package dev.apiary.vmm.chipset;

/**
 * Reset and A20 registers of a PC: the PIIX3 reset control register (82371SB datasheet §4.1.18, port
 * 0xCF9), System Control Port A (port 0x92, IBM PS/2 "fast A20 and reset"), and the 8042 keyboard
 * controller's commands that touch the system (IBM PC/AT Technical Reference, "Keyboard controller").
 */
public final class ResetRegs {
    private ResetRegs() {}

    public static final int RCR_PORT = 0xCF9;
    /** SYS_RST: with RST_CPU, a hard (full system) reset instead of a soft one. */
    public static final int RCR_SYS_RST = 0x02;
    /** RST_CPU: writing 1 starts the reset. */
    public static final int RCR_RST_CPU = 0x04;
    /** FULL_RST (ICH and later, accepted here): power-cycle style reset. */
    public static final int RCR_FULL_RST = 0x08;
    static final int RCR_STORED = RCR_SYS_RST | RCR_FULL_RST;

    public static final int PORT_A = 0x92;
    /** FAST_INIT: a 0→1 transition resets the CPU. */
    public static final int PORT_A_RESET = 0x01;
    public static final int PORT_A_A20 = 0x02;

    public static final int KBC_DATA_PORT = 0x60;
    public static final int KBC_COMMAND_PORT = 0x64;

    // Status register (read at 0x64).
    public static final int KBC_STATUS_OBF = 0x01;
    public static final int KBC_STATUS_IBF = 0x02;
    public static final int KBC_STATUS_SYSTEM_FLAG = 0x04;
    public static final int KBC_STATUS_COMMAND = 0x08;
    public static final int KBC_STATUS_UNLOCKED = 0x10;
    /** The byte in the output buffer came from the auxiliary (mouse) port. */
    public static final int KBC_STATUS_AUX_OBF = 0x20;

    // Command byte bits.
    public static final int KBC_CB_KBD_INT = 0x01;
    public static final int KBC_CB_AUX_INT = 0x02;
    public static final int KBC_CB_KBD_DISABLED = 0x10;
    public static final int KBC_CB_AUX_DISABLED = 0x20;
    public static final int KBC_CB_TRANSLATE = 0x40;

    // Commands (written at 0x64).
    public static final int KBC_READ_COMMAND_BYTE = 0x20;
    public static final int KBC_WRITE_COMMAND_BYTE = 0x60;
    public static final int KBC_DISABLE_AUX = 0xA7;
    public static final int KBC_ENABLE_AUX = 0xA8;
    public static final int KBC_AUX_TEST = 0xA9;
    public static final int KBC_SELF_TEST = 0xAA;
    public static final int KBC_INTERFACE_TEST = 0xAB;
    public static final int KBC_DISABLE_KEYBOARD = 0xAD;
    public static final int KBC_ENABLE_KEYBOARD = 0xAE;
    public static final int KBC_READ_OUTPUT_PORT = 0xD0;
    public static final int KBC_WRITE_OUTPUT_PORT = 0xD1;
    public static final int KBC_WRITE_KBD_BUFFER = 0xD2;
    public static final int KBC_WRITE_AUX_BUFFER = 0xD3;
    public static final int KBC_WRITE_AUX = 0xD4;
    public static final int KBC_DISABLE_A20 = 0xDD;
    public static final int KBC_ENABLE_A20 = 0xDF;
    /** 0xF0–0xFF pulse output port lines low for 6 µs; bit 0 clear pulses the reset line (0xFE). */
    public static final int KBC_PULSE_OUTPUT_FIRST = 0xF0;
    public static final int KBC_PULSE_RESET = 0xFE;

    public static final int KBC_SELF_TEST_OK = 0x55;
    /** Output port bit 0: system reset (active low); bit 1: A20 gate. */
    public static final int KBC_OUTPUT_RESET = 0x01;
    public static final int KBC_OUTPUT_A20 = 0x02;
}
