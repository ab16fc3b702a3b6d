package dev.apiary.vmm.nvme;

/**
 * Controller registers (BAR0) and their fields, named as in the NVM Express Base Specification 1.4
 * (NVMe 1.4) §3.1. Offsets are from the start of BAR0.
 */
final class NvmeRegs {
    private NvmeRegs() {}

    // NVMe 1.4 §3.1, figure 77: property map.
    static final int CAP = 0x00;
    static final int VS = 0x08;
    static final int INTMS = 0x0C;
    static final int INTMC = 0x10;
    static final int CC = 0x14;
    static final int CSTS = 0x1C;
    static final int NSSR = 0x20;
    static final int AQA = 0x24;
    static final int ASQ = 0x28;
    static final int ACQ = 0x30;
    static final int CMBLOC = 0x38;
    static final int CMBSZ = 0x3C;
    /** NVMe 1.4 §3.1.16: first doorbell; SQ y tail at 0x1000 + 2y·(4 << DSTRD), CQ y head right after. */
    static final int DOORBELLS = 0x1000;

    // §3.1.1 CAP.
    static final int CAP_MQES_SHIFT = 0;
    static final long CAP_CQR = 1L << 16;
    static final int CAP_AMS_SHIFT = 17;
    static final int CAP_TO_SHIFT = 24;
    static final int CAP_DSTRD_SHIFT = 32;
    static final long CAP_NSSRS = 1L << 36;
    static final int CAP_CSS_SHIFT = 37;
    /** CAP.CSS bit 0: the NVM command set. */
    static final long CAP_CSS_NVM = 1L << CAP_CSS_SHIFT;
    static final int CAP_MPSMIN_SHIFT = 48;
    static final int CAP_MPSMAX_SHIFT = 52;

    /** §3.1.2 VS: 1.4.0. */
    static final int VERSION_1_4 = 0x0001_0400;

    // §3.1.5 CC.
    static final int CC_EN = 1;
    static final int CC_CSS_SHIFT = 4;
    static final int CC_CSS_MASK = 0x7;
    static final int CC_MPS_SHIFT = 7;
    static final int CC_MPS_MASK = 0xF;
    static final int CC_AMS_SHIFT = 11;
    static final int CC_AMS_MASK = 0x7;
    static final int CC_SHN_SHIFT = 14;
    static final int CC_SHN_MASK = 0x3;
    static final int CC_IOSQES_SHIFT = 16;
    static final int CC_IOCQES_SHIFT = 20;
    static final int CC_ES_MASK = 0xF;
    /** The bits of CC that exist; the rest are reserved and read 0. */
    static final int CC_WRITABLE = 0x00FF_FFF1;

    // §3.1.6 CSTS.
    static final int CSTS_RDY = 1;
    static final int CSTS_CFS = 1 << 1;
    static final int CSTS_SHST_SHIFT = 2;
    static final int SHST_NORMAL = 0;
    static final int SHST_OCCURRING = 1;
    static final int SHST_COMPLETE = 2;

    // §3.1.8 AQA (0's based sizes).
    static final int AQA_ASQS_MASK = 0xFFF;
    static final int AQA_ACQS_SHIFT = 16;
    static final int AQA_WRITABLE = 0x0FFF_0FFF;

    /** §3.1.9/§3.1.10: ASQ and ACQ bits 11:0 are reserved (4 KiB-aligned queues). */
    static final long ADMIN_QUEUE_BASE_MASK = ~0xFFFL;

    static final int SQ_ENTRY_SIZE = 64;
    static final int CQ_ENTRY_SIZE = 16;
    /** log2 of the entry sizes, as CC.IOSQES/IOCQES and Identify SQES/CQES encode them. */
    static final int SQES = 6;
    static final int CQES = 4;
}
