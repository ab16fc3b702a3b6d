package dev.apiary.vmm.nvme;

/** Command opcodes (NVMe 1.4 §5, figure 139; NVM command set §6, figure 346) and feature and log IDs. */
final class Opcodes {
    private Opcodes() {}

    // Admin commands.
    static final int DELETE_IO_SQ = 0x00;
    static final int CREATE_IO_SQ = 0x01;
    static final int GET_LOG_PAGE = 0x02;
    static final int DELETE_IO_CQ = 0x04;
    static final int CREATE_IO_CQ = 0x05;
    static final int IDENTIFY = 0x06;
    static final int ABORT = 0x08;
    static final int SET_FEATURES = 0x09;
    static final int GET_FEATURES = 0x0A;
    static final int ASYNC_EVENT_REQUEST = 0x0C;
    static final int KEEP_ALIVE = 0x18;
    static final int DOORBELL_BUFFER_CONFIG = 0x7C;
    static final int FORMAT_NVM = 0x80;

    // NVM I/O commands.
    static final int FLUSH = 0x00;
    static final int WRITE = 0x01;
    static final int READ = 0x02;
    static final int WRITE_ZEROES = 0x08;
    static final int DATASET_MANAGEMENT = 0x09;

    // §5.15.1 Identify CNS values.
    static final int CNS_NAMESPACE = 0x00;
    static final int CNS_CONTROLLER = 0x01;
    static final int CNS_ACTIVE_NAMESPACES = 0x02;
    static final int CNS_NAMESPACE_DESCRIPTORS = 0x03;

    // §5.21.1 feature identifiers.
    static final int FEAT_ARBITRATION = 0x01;
    static final int FEAT_POWER_MANAGEMENT = 0x02;
    static final int FEAT_TEMPERATURE_THRESHOLD = 0x04;
    static final int FEAT_ERROR_RECOVERY = 0x05;
    static final int FEAT_VOLATILE_WRITE_CACHE = 0x06;
    static final int FEAT_NUMBER_OF_QUEUES = 0x07;
    static final int FEAT_INTERRUPT_COALESCING = 0x08;
    static final int FEAT_INTERRUPT_VECTOR_CONFIG = 0x09;
    static final int FEAT_WRITE_ATOMICITY = 0x0A;
    static final int FEAT_ASYNC_EVENT_CONFIG = 0x0B;
    static final int FEAT_AUTONOMOUS_POWER_STATE = 0x0C;
    static final int FEAT_KEEP_ALIVE_TIMER = 0x0F;

    // §5.14.1 log page identifiers.
    static final int LOG_ERROR_INFORMATION = 0x01;
    static final int LOG_SMART_HEALTH = 0x02;
    static final int LOG_FIRMWARE_SLOT = 0x03;

    // §5.2.1 asynchronous events: type Error status, its information values.
    static final int AE_TYPE_ERROR = 0x0;
    static final int AE_INFO_INVALID_DOORBELL_REGISTER = 0x00;
    static final int AE_INFO_INVALID_DOORBELL_VALUE = 0x01;
}
