package dev.apiary.vmm.intc;

/**
 * Local APIC register offsets and bit fields in the xAPIC MMIO page (SDM vol. 3 §11.4.1 table 11-1 and the
 * register figures of chapter 11). Every register is 32 bits wide at a 16-byte-aligned offset.
 */
final class ApicRegs {
    private ApicRegs() {}

    static final int ID = 0x020;
    static final int VERSION = 0x030;
    static final int TPR = 0x080;
    static final int APR = 0x090;
    static final int PPR = 0x0A0;
    static final int EOI = 0x0B0;
    static final int RRD = 0x0C0;
    static final int LDR = 0x0D0;
    static final int DFR = 0x0E0;
    static final int SVR = 0x0F0;
    static final int ISR = 0x100;
    static final int TMR = 0x180;
    static final int IRR = 0x200;
    static final int ESR = 0x280;
    static final int ICR_LOW = 0x300;
    static final int ICR_HIGH = 0x310;
    static final int LVT_TIMER = 0x320;
    static final int LVT_THERMAL = 0x330;
    static final int LVT_PERF = 0x340;
    static final int LVT_LINT0 = 0x350;
    static final int LVT_LINT1 = 0x360;
    static final int LVT_ERROR = 0x370;
    static final int TIMER_INITIAL = 0x380;
    static final int TIMER_CURRENT = 0x390;
    static final int TIMER_DIVIDE = 0x3E0;

    /** Version 0x14 (integrated APIC), six LVT entries (max LVT entry 5), as KVM reports; §11.4.8. */
    static final int VERSION_VALUE = 0x14 | (5 << 16);

    /** SVR (§11.9): spurious vector 7:0, APIC software enable 8, focus checking 9 (ignored). */
    static final int SVR_ENABLE = 1 << 8;
    static final int SVR_WRITABLE = 0x3FF;
    static final int SVR_RESET = 0xFF;

    /** LVT fields (§11.5.1, figure 11-8). */
    static final int LVT_MASKED = 1 << 16;
    static final int LVT_DELIVERY_STATUS = 1 << 12;
    static final int LVT_LEVEL = 1 << 15;
    static final int LVT_MODE_SHIFT = 8;
    static final int TIMER_MODE_SHIFT = 17;
    static final int TIMER_ONE_SHOT = 0;
    static final int TIMER_PERIODIC = 1;
    static final int TIMER_TSC_DEADLINE = 2;
    static final int LVT_TIMER_WRITABLE = 0xFF | LVT_MASKED | (3 << TIMER_MODE_SHIFT);
    static final int LVT_LINT_WRITABLE = 0xFF | 0x700 | (1 << 13) | LVT_LEVEL | LVT_MASKED;
    static final int LVT_MODE_WRITABLE = 0xFF | 0x700 | LVT_MASKED;
    static final int LVT_ERROR_WRITABLE = 0xFF | LVT_MASKED;

    /** ESR bits (§11.5.3, figure 11-9). */
    static final int ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
    static final int ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
    static final int ESR_ILLEGAL_REGISTER = 1 << 7;

    /** ICR fields (§11.6.1, figure 11-12). */
    static final int ICR_WRITABLE = 0xFF | 0x700 | (1 << 11) | (1 << 14) | (1 << 15) | (3 << 18);
    static final int ICR_LOGICAL = 1 << 11;
    static final int ICR_ASSERT = 1 << 14;
    static final int ICR_LEVEL = 1 << 15;
    static final int SHORTHAND_NONE = 0;
    static final int SHORTHAND_SELF = 1;
    static final int SHORTHAND_ALL = 2;
    static final int SHORTHAND_ALL_BUT_SELF = 3;

    /** IA32_APIC_BASE (§11.4.4): BSP 8, x2APIC enable 10, global enable 11, base 12 and up. */
    static final long BASE_BSP = 1L << 8;
    static final long BASE_EXTD = 1L << 10;
    static final long BASE_ENABLE = 1L << 11;
    static final long BASE_ADDRESS_MASK = 0x000F_FFFF_FFFF_F000L;
    static final long DEFAULT_BASE = 0xFEE0_0000L;

    /** DFR model bits 31:28 (§11.6.2.2): flat 1111, cluster 0000. */
    static final int DFR_FLAT = 0xF;
}
