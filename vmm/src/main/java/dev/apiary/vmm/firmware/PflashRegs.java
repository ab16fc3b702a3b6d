package dev.apiary.vmm.firmware;

/**
 * Commands, status bits and the CFI query table of an x8 NOR flash with the Intel/Sharp command set (CFI
 * primary algorithm 0x0001), as QEMU's {@code pflash_cfi01} presents the PC's system flash and OVMF's
 * {@code QemuFlashFvbServicesRuntimeDxe} drives it. Sources: Intel "Common Flash Interface (CFI) and Command
 * Sets" (AP-646) and JEDEC JESD68.01 for the query table; the 28F008SA datasheet for commands and status.
 */
final class PflashRegs {
    private PflashRegs() {}

    // First-cycle commands (28F008SA "Command definitions").
    static final int READ_ARRAY = 0xFF;
    /** 0x00 and 0xF0 are accepted as read array too (AMD's reset command; QEMU does the same). */
    static final int READ_ARRAY_ALT0 = 0x00;
    static final int READ_ARRAY_ALT1 = 0xF0;
    static final int PROGRAM = 0x40;
    /** Alternate program setup (byte/word program). */
    static final int PROGRAM_ALT = 0x10;
    static final int BLOCK_ERASE = 0x20;
    static final int CLEAR_STATUS = 0x50;
    static final int LOCK_SETUP = 0x60;
    static final int READ_STATUS = 0x70;
    static final int READ_IDENTIFIER = 0x90;
    static final int CFI_QUERY = 0x98;
    /** Second cycle of block erase; also "unlock block" after {@link #LOCK_SETUP}. */
    static final int CONFIRM = 0xD0;
    /** Second cycle of lock setup: lock block. */
    static final int LOCK_BLOCK = 0x01;

    // Status register (28F008SA "Status register definitions").
    /** WSMS: the write state machine is ready. */
    static final int STATUS_READY = 0x80;
    /** ES: erase error (also with PS: a command sequence error). */
    static final int STATUS_ERASE_ERROR = 0x20;
    /** PS: program error. */
    static final int STATUS_PROGRAM_ERROR = 0x10;
    /** BLS: the operation hit a locked block (here: a read-only device). */
    static final int STATUS_LOCKED = 0x02;

    /** Manufacturer and device codes read in identifier mode (offsets 0 and 1); QEMU's PC flash uses these. */
    static final int MANUFACTURER_ID = 0x89;
    static final int DEVICE_ID = 0x18;

    /** Bytes in the CFI query table ({@link #cfiTable}). */
    static final int CFI_TABLE_SIZE = 0x40;

    /**
     * The CFI query table (JESD68.01 tables 1–5 and Intel's primary extended table), indexed by byte offset in
     * query mode: "QRY", command set 0x0001, one erase region of {@code blocks} blocks of {@code blockSize}.
     */
    static byte[] cfiTable(long deviceSize, int blockSize, int blocks) {
        byte[] t = new byte[CFI_TABLE_SIZE];
        t[0x10] = 'Q';
        t[0x11] = 'R';
        t[0x12] = 'Y';
        t[0x13] = 0x01; // primary algorithm: Intel/Sharp extended command set
        t[0x15] = 0x31; // primary extended query table at 0x31
        t[0x1B] = 0x45; // Vcc min 4.5 V
        t[0x1C] = 0x55; // Vcc max 5.5 V
        t[0x1F] = 0x07; // typical byte program time 2^7 us
        t[0x21] = 0x0A; // typical block erase time 2^10 ms
        t[0x23] = 0x04; // maximum program time 2^4 times typical
        t[0x25] = 0x04; // maximum erase time 2^4 times typical
        int log2 = 64 - Long.numberOfLeadingZeros(Math.max(deviceSize, 1) - 1);
        t[0x27] = (byte) log2; // device size 2^n bytes (rounded up)
        t[0x28] = 0x00; // interface: x8 only
        t[0x2A] = 0x00; // no write buffer
        t[0x2C] = 0x01; // one erase block region
        t[0x2D] = (byte) (blocks - 1);
        t[0x2E] = (byte) ((blocks - 1) >>> 8);
        t[0x2F] = (byte) (blockSize >>> 8);
        t[0x30] = (byte) (blockSize >>> 16);
        t[0x31] = 'P';
        t[0x32] = 'R';
        t[0x33] = 'I';
        t[0x34] = '1';
        t[0x35] = '0';
        t[0x3D] = 0x50; // Vcc optimum 5.0 V
        return t;
    }
}
