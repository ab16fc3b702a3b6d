package dev.apiary.vmm.chipset;

/**
 * MC146818A real-time clock registers (Motorola MC146818A datasheet, "Address map", figure 3, and
 * "Registers", table 3) and the CMOS bytes PC firmware reads (as QEMU's {@code pc_cmos_init} fills them).
 */
public final class RtcRegs {
    private RtcRegs() {}

    public static final int INDEX_PORT = 0x70;
    public static final int DATA_PORT = 0x71;
    /** Port 0x70 bit 7: NMI disable (a PC chipset bit, not the RTC's). */
    public static final int NMI_DISABLE = 0x80;
    public static final int INDEX_MASK = 0x7F;
    public static final int CMOS_SIZE = 128;
    public static final int IRQ = 8;

    // Time, alarm and calendar registers.
    public static final int SECONDS = 0x00;
    public static final int SECONDS_ALARM = 0x01;
    public static final int MINUTES = 0x02;
    public static final int MINUTES_ALARM = 0x03;
    public static final int HOURS = 0x04;
    public static final int HOURS_ALARM = 0x05;
    public static final int DAY_OF_WEEK = 0x06;
    public static final int DAY_OF_MONTH = 0x07;
    public static final int MONTH = 0x08;
    public static final int YEAR = 0x09;
    public static final int REG_A = 0x0A;
    public static final int REG_B = 0x0B;
    public static final int REG_C = 0x0C;
    public static final int REG_D = 0x0D;
    /** IBM PC/AT century byte (the FADT's CENTURY field points here). */
    public static final int CENTURY = 0x32;

    /** An alarm byte with bits 7:6 set matches any value ("don't care", datasheet "Alarm"). */
    public static final int ALARM_DONT_CARE = 0xC0;
    /** Hours register bit 7 in 12-hour mode: PM. */
    public static final int HOURS_PM = 0x80;

    // Register A.
    public static final int A_UIP = 0x80;
    public static final int A_DV_MASK = 0x70;
    /** DV = 010: 32.768 kHz time base, divider running. */
    public static final int A_DV_32KHZ = 0x20;
    public static final int A_RS_MASK = 0x0F;
    /** Power-on value programmed by every BIOS: 32.768 kHz, 1024 Hz periodic rate. */
    public static final int A_DEFAULT = 0x26;

    // Register B.
    public static final int B_SET = 0x80;
    public static final int B_PIE = 0x40;
    public static final int B_AIE = 0x20;
    public static final int B_UIE = 0x10;
    public static final int B_SQWE = 0x08;
    public static final int B_DM_BINARY = 0x04;
    public static final int B_24_HOUR = 0x02;
    public static final int B_DSE = 0x01;
    public static final int B_DEFAULT = B_24_HOUR;

    // Register C (read-only, cleared by reading).
    public static final int C_IRQF = 0x80;
    public static final int C_PF = 0x40;
    public static final int C_AF = 0x20;
    public static final int C_UF = 0x10;

    // Register D.
    public static final int D_VRT = 0x80;

    /**
     * Update-in-progress lead time: UIP rises 244 µs before the update (datasheet "Update cycle",
     * t<sub>BUC</sub>); QEMU uses 8 cycles of the 32.768 kHz base.
     */
    public static final long UIP_LEAD_NANOS = 8 * 1_000_000_000L / 32_768;

    // CMOS bytes firmware reads (SeaBIOS, OVMF's PlatformPei), filled as QEMU does.
    public static final int CMOS_SHUTDOWN_STATUS = 0x0F;
    public static final int CMOS_EQUIPMENT = 0x14;
    public static final int CMOS_BASE_MEMORY_LO = 0x15;
    public static final int CMOS_BASE_MEMORY_HI = 0x16;
    public static final int CMOS_EXTENDED_MEMORY_LO = 0x17;
    public static final int CMOS_EXTENDED_MEMORY_HI = 0x18;
    public static final int CMOS_EXTENDED_MEMORY2_LO = 0x30;
    public static final int CMOS_EXTENDED_MEMORY2_HI = 0x31;
    public static final int CMOS_MEMORY_ABOVE_16M_LO = 0x34;
    public static final int CMOS_MEMORY_ABOVE_16M_HI = 0x35;
    public static final int CMOS_MEMORY_ABOVE_4G_LO = 0x5B;
    public static final int CMOS_MEMORY_ABOVE_4G_MID = 0x5C;
    public static final int CMOS_MEMORY_ABOVE_4G_HI = 0x5D;
    /** Number of CPUs minus one (QEMU, read by SeaBIOS). */
    public static final int CMOS_CPU_COUNT_MINUS_ONE = 0x5F;
    /** The guest kit's reboot counter: must survive reset. */
    public static final int CMOS_GUESTKIT_REBOOT_COUNTER = 0x7E;
    /** Equipment byte: math coprocessor present; no floppy, VGA/EGA display (bits 5:4 = 0). */
    public static final int EQUIPMENT_FPU = 0x02;
}
