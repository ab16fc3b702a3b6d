package dev.apiary.vmm.nvme;

/**
 * Completion status values as they sit in bits 31:17 of completion queue entry dword 3 (NVMe 1.4 §4.6.1):
 * Status Code in bits 7:0, Status Code Type in 10:8, More in 13, Do Not Retry in 14.
 */
final class NvmeStatus {
    private NvmeStatus() {}

    static final int DNR = 1 << 14;

    private static final int GENERIC = 0 << 8;
    private static final int COMMAND_SPECIFIC = 1 << 8;
    private static final int MEDIA = 2 << 8;

    // §4.6.1.2.1, figure 128: generic command status.
    static final int SUCCESS = GENERIC | 0x00;
    static final int INVALID_OPCODE = GENERIC | 0x01;
    static final int INVALID_FIELD = GENERIC | 0x02;
    static final int DATA_TRANSFER_ERROR = GENERIC | 0x04;
    static final int INTERNAL_ERROR = GENERIC | 0x06;
    static final int ABORTED_SQ_DELETION = GENERIC | 0x08;
    static final int INVALID_NAMESPACE = GENERIC | 0x0B;
    static final int COMMAND_SEQUENCE_ERROR = GENERIC | 0x0C;
    static final int INVALID_PRP_OFFSET = GENERIC | 0x13;
    static final int NAMESPACE_WRITE_PROTECTED = GENERIC | 0x20;
    // Figure 129: generic status values of the NVM command set.
    static final int LBA_OUT_OF_RANGE = GENERIC | 0x80;

    // §4.6.1.2.2, figure 130: command specific status.
    static final int COMPLETION_QUEUE_INVALID = COMMAND_SPECIFIC | 0x00;
    static final int INVALID_QUEUE_IDENTIFIER = COMMAND_SPECIFIC | 0x01;
    static final int INVALID_QUEUE_SIZE = COMMAND_SPECIFIC | 0x02;
    static final int AER_LIMIT_EXCEEDED = COMMAND_SPECIFIC | 0x05;
    static final int INVALID_INTERRUPT_VECTOR = COMMAND_SPECIFIC | 0x08;
    static final int INVALID_LOG_PAGE = COMMAND_SPECIFIC | 0x09;
    static final int INVALID_FORMAT = COMMAND_SPECIFIC | 0x0A;
    static final int INVALID_QUEUE_DELETION = COMMAND_SPECIFIC | 0x0C;
    static final int FEATURE_NOT_SAVEABLE = COMMAND_SPECIFIC | 0x0D;

    // §4.6.1.2.3, figure 133: media and data integrity errors.
    static final int WRITE_FAULT = MEDIA | 0x80;
    static final int UNRECOVERED_READ_ERROR = MEDIA | 0x81;

    static int statusCode(int status) {
        return status & 0xFF;
    }

    static int statusCodeType(int status) {
        return (status >>> 8) & 0x7;
    }
}
