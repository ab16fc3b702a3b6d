package dev.apiary.vmm.chipset;

/**
 * PIIX4 power management function (82371AB function 3): configuration registers (82371AB datasheet §7.1)
 * and the PM I/O block (§7.2), with the ACPI names for the fixed-hardware registers (ACPI 6.4 §4.8.3).
 */
public final class Piix4PmRegs {
    private Piix4PmRegs() {}

    // §7.1 configuration space.
    /** PMBA: PM base address, bit 0 reads 1 (I/O space). */
    public static final int PMBA = 0x40;
    /** PMREGMISC bit 0: PM I/O space enable. */
    public static final int PMREGMISC = 0x80;
    public static final int PMREGMISC_PMIOSE = 0x01;

    /** Where the PM block is, fixed (firmware and the ACPI tables agree on 0xB000, as SeaBIOS and OVMF). */
    public static final int PM_BASE = 0xB000;
    /** Length of the mapped PM I/O block (as QEMU). */
    public static final int PM_BLOCK_LENGTH = 0x40;

    // §7.2 PM I/O registers, offsets from PM_BASE.
    /** PM1a_EVT_BLK, first half: PM1_STS (PIIX4 PMSTS), write 1 to clear. */
    public static final int PM1_STS = 0x00;
    /** PM1a_EVT_BLK, second half: PM1_EN (PIIX4 PMEN). */
    public static final int PM1_EN = 0x02;
    /** PM1a_CNT_BLK: PM1_CNT (PIIX4 PMCNTRL). */
    public static final int PM1_CNT = 0x04;
    /** PM_TMR_BLK: 24-bit free-running timer (PIIX4 PMTMR). */
    public static final int PM_TMR = 0x08;

    // ACPI 6.4 table 4.16 / PIIX4 §7.2.1: PM1 status and enable bits.
    public static final int TMR_STS = 1 << 0;
    public static final int BM_STS = 1 << 4;
    public static final int GBL_STS = 1 << 5;
    public static final int PWRBTN_STS = 1 << 8;
    public static final int RTC_STS = 1 << 10;
    public static final int WAK_STS = 1 << 15;
    public static final int TMR_EN = 1 << 0;
    public static final int GBL_EN = 1 << 5;
    public static final int PWRBTN_EN = 1 << 8;
    public static final int RTC_EN = 1 << 10;
    static final int PM1_STS_WRITE_CLEAR = TMR_STS | BM_STS | GBL_STS | PWRBTN_STS | RTC_STS | WAK_STS;
    static final int PM1_EN_WRITABLE = TMR_EN | GBL_EN | PWRBTN_EN | RTC_EN;
    /** Events that raise an SCI (TMR_STS does not here: see {@link Piix4Pm}). */
    static final int SCI_EVENTS = GBL_STS | PWRBTN_STS | RTC_STS;

    // ACPI 6.4 table 4.18 / PIIX4 §7.2.3: PM1 control bits.
    public static final int SCI_EN = 1 << 0;
    public static final int BM_RLD = 1 << 1;
    public static final int GBL_RLS = 1 << 2;
    public static final int SLP_TYP_SHIFT = 10;
    public static final int SLP_TYP_MASK = 0x7 << SLP_TYP_SHIFT;
    public static final int SLP_EN = 1 << 13;
    static final int PM1_CNT_WRITABLE = SCI_EN | BM_RLD | SLP_TYP_MASK;
    /** SLP_TYP for S5 in our DSDT ({@code _S5 = Package {0, 0, 0, 0}}, as QEMU's PIIX4 tables). */
    public static final int SLP_TYP_S5 = 0;

    /** ACPI PM timer frequency (ACPI 6.4 §4.8.3.3): 3.579545 MHz. */
    public static final long PM_TIMER_HZ = 3_579_545L;
    public static final int PM_TIMER_MASK = 0xFF_FFFF;

    /** The SCI's ISA IRQ (level, active high; the MADT carries an override for it). */
    public static final int SCI_IRQ = 9;
}
