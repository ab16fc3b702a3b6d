package dev.apiary.vmm.nvme;

import java.util.HashMap;
import java.util.Map;

/**
 * The current values of the features Set/Get Features reach (NVMe 1.4 §5.21.1). None is saveable. Which ones
 * have an effect: Number of Queues (limits queue creation), Volatile Write Cache (with it off every write is
 * on stable storage before it completes). Arbitration, Power Management (one power state), Temperature
 * Threshold, Error Recovery, Interrupt Coalescing, Interrupt Vector Configuration, Write Atomicity Normal,
 * Asynchronous Event Configuration and Keep Alive Timer are stored and reported back but change nothing:
 * each queue has its own thread (no arbitration to tune), interrupts are not coalesced, and no timer runs.
 */
final class Features {
    final int maxIoQueues;
    final int vectors;

    private int arbitration;
    private int powerState;
    private int errorRecovery;
    private boolean writeCache;
    private int grantedSq;
    private int grantedCq;
    private int coalescing;
    private final Map<Integer, Integer> vectorConfig = new HashMap<>();
    private final Map<Integer, Integer> temperatureThresholds = new HashMap<>();
    private int writeAtomicity;
    private int asyncEventConfig;
    private int keepAlive;

    Features(int maxIoQueues, int vectors) {
        this.maxIoQueues = maxIoQueues;
        this.vectors = vectors;
        reset();
    }

    synchronized void reset() {
        arbitration = 0;
        powerState = 0;
        errorRecovery = 0;
        writeCache = true;
        grantedSq = maxIoQueues;
        grantedCq = maxIoQueues;
        coalescing = 0;
        vectorConfig.clear();
        temperatureThresholds.clear();
        writeAtomicity = 0;
        asyncEventConfig = 0;
        keepAlive = 0;
    }

    synchronized boolean writeCacheEnabled() {
        return writeCache;
    }

    synchronized int grantedSubmissionQueues() {
        return grantedSq;
    }

    synchronized int grantedCompletionQueues() {
        return grantedCq;
    }

    /** Whether this FID names a feature we know. */
    static boolean known(int fid) {
        return switch (fid) {
            case Opcodes.FEAT_ARBITRATION, Opcodes.FEAT_POWER_MANAGEMENT, Opcodes.FEAT_TEMPERATURE_THRESHOLD,
                    Opcodes.FEAT_ERROR_RECOVERY, Opcodes.FEAT_VOLATILE_WRITE_CACHE, Opcodes.FEAT_NUMBER_OF_QUEUES,
                    Opcodes.FEAT_INTERRUPT_COALESCING, Opcodes.FEAT_INTERRUPT_VECTOR_CONFIG,
                    Opcodes.FEAT_WRITE_ATOMICITY, Opcodes.FEAT_ASYNC_EVENT_CONFIG,
                    Opcodes.FEAT_AUTONOMOUS_POWER_STATE, Opcodes.FEAT_KEEP_ALIVE_TIMER -> true;
            default -> false;
        };
    }

    /** Get Features, SEL 000b (current) or 001b/010b (default = saved, since nothing is saveable). */
    synchronized int get(int fid, int cdw11, boolean current) throws CommandException {
        if (!current) {
            return defaultValue(fid, cdw11);
        }
        return switch (fid) {
            case Opcodes.FEAT_ARBITRATION -> arbitration;
            case Opcodes.FEAT_POWER_MANAGEMENT -> powerState;
            case Opcodes.FEAT_TEMPERATURE_THRESHOLD -> {
                int key = (cdw11 >>> 16) & 0x3F;
                yield (cdw11 & 0x3F_0000) | temperatureThresholds.getOrDefault(key, defaultThreshold(key));
            }
            case Opcodes.FEAT_ERROR_RECOVERY -> errorRecovery;
            case Opcodes.FEAT_VOLATILE_WRITE_CACHE -> writeCache ? 1 : 0;
            case Opcodes.FEAT_NUMBER_OF_QUEUES -> ((grantedCq - 1) << 16) | (grantedSq - 1);
            case Opcodes.FEAT_INTERRUPT_COALESCING -> coalescing;
            case Opcodes.FEAT_INTERRUPT_VECTOR_CONFIG -> {
                int iv = cdw11 & 0xFFFF;
                if (iv >= vectors) {
                    throw CommandException.invalidField("no such interrupt vector");
                }
                yield vectorConfig.getOrDefault(iv, iv);
            }
            case Opcodes.FEAT_WRITE_ATOMICITY -> writeAtomicity;
            case Opcodes.FEAT_ASYNC_EVENT_CONFIG -> asyncEventConfig;
            case Opcodes.FEAT_AUTONOMOUS_POWER_STATE -> 0;
            case Opcodes.FEAT_KEEP_ALIVE_TIMER -> keepAlive;
            default -> throw CommandException.invalidField("unknown feature");
        };
    }

    private int defaultValue(int fid, int cdw11) throws CommandException {
        return switch (fid) {
            case Opcodes.FEAT_TEMPERATURE_THRESHOLD -> {
                int key = (cdw11 >>> 16) & 0x3F;
                yield (cdw11 & 0x3F_0000) | defaultThreshold(key);
            }
            case Opcodes.FEAT_VOLATILE_WRITE_CACHE -> 1;
            case Opcodes.FEAT_NUMBER_OF_QUEUES -> ((maxIoQueues - 1) << 16) | (maxIoQueues - 1);
            case Opcodes.FEAT_INTERRUPT_VECTOR_CONFIG -> {
                int iv = cdw11 & 0xFFFF;
                if (iv >= vectors) {
                    throw CommandException.invalidField("no such interrupt vector");
                }
                yield iv;
            }
            default -> {
                if (!known(fid)) {
                    throw CommandException.invalidField("unknown feature");
                }
                yield 0;
            }
        };
    }

    /** TMPSEL 0 (composite) over-threshold: WCTEMP; under-thresholds: 0. */
    private static int defaultThreshold(int key) {
        int thsel = (key >>> 4) & 0x3;
        int tmpsel = key & 0xF;
        return thsel == 0 && tmpsel == 0 ? 0x0157 : 0;
    }

    /**
     * Set Features; returns completion dword 0. {@code ioQueuesExist}: Number of Queues may only be set before
     * any I/O queue is created (§5.21.1.7).
     */
    synchronized int set(int fid, int cdw11, boolean ioQueuesExist) throws CommandException {
        switch (fid) {
            case Opcodes.FEAT_ARBITRATION -> arbitration = cdw11 & 0xFFFF_FF07;
            case Opcodes.FEAT_POWER_MANAGEMENT -> {
                if ((cdw11 & 0x1F) != 0) {
                    throw CommandException.invalidField("only power state 0 exists");
                }
                powerState = cdw11 & 0xFF;
            }
            case Opcodes.FEAT_TEMPERATURE_THRESHOLD -> {
                int tmpsel = (cdw11 >>> 16) & 0xF;
                int thsel = (cdw11 >>> 20) & 0x3;
                if ((tmpsel != 0 && tmpsel != 0xF) || thsel > 1) {
                    throw CommandException.invalidField("no such temperature sensor or threshold");
                }
                temperatureThresholds.put((thsel << 4) | tmpsel, cdw11 & 0xFFFF);
            }
            case Opcodes.FEAT_ERROR_RECOVERY -> {
                if ((cdw11 & (1 << 16)) != 0) {
                    throw CommandException.invalidField("DULBE is not supported");
                }
                errorRecovery = cdw11 & 0xFFFF;
            }
            case Opcodes.FEAT_VOLATILE_WRITE_CACHE -> writeCache = (cdw11 & 1) != 0;
            case Opcodes.FEAT_NUMBER_OF_QUEUES -> {
                int nsqr = cdw11 & 0xFFFF;
                int ncqr = cdw11 >>> 16;
                if (nsqr == 0xFFFF || ncqr == 0xFFFF) {
                    throw CommandException.invalidField("65536 queues requested");
                }
                if (ioQueuesExist) {
                    throw new CommandException(NvmeStatus.COMMAND_SEQUENCE_ERROR | NvmeStatus.DNR,
                            "Number of Queues set after I/O queues were created");
                }
                grantedSq = Math.min(nsqr + 1, maxIoQueues);
                grantedCq = Math.min(ncqr + 1, maxIoQueues);
                return ((grantedCq - 1) << 16) | (grantedSq - 1);
            }
            case Opcodes.FEAT_INTERRUPT_COALESCING -> coalescing = cdw11 & 0xFFFF;
            case Opcodes.FEAT_INTERRUPT_VECTOR_CONFIG -> {
                int iv = cdw11 & 0xFFFF;
                if (iv >= vectors) {
                    throw CommandException.invalidField("no such interrupt vector");
                }
                vectorConfig.put(iv, cdw11 & 0x1_FFFF);
            }
            case Opcodes.FEAT_WRITE_ATOMICITY -> writeAtomicity = cdw11 & 1;
            // Only the SMART critical warnings (7:0) exist without optional events (OAES = 0).
            case Opcodes.FEAT_ASYNC_EVENT_CONFIG -> asyncEventConfig = cdw11 & 0xFF;
            case Opcodes.FEAT_AUTONOMOUS_POWER_STATE -> {
                if ((cdw11 & 1) != 0) {
                    throw CommandException.invalidField("APST is not supported (APSTA = 0)");
                }
            }
            case Opcodes.FEAT_KEEP_ALIVE_TIMER -> keepAlive = cdw11;
            default -> throw CommandException.invalidField("unknown feature");
        }
        return 0;
    }

    /** Get Features SEL 011b: capabilities — changeable (bit 2), never saveable or namespace specific. */
    static int capabilities(int fid) throws CommandException {
        if (!known(fid)) {
            throw CommandException.invalidField("unknown feature");
        }
        return 1 << 2;
    }
}
