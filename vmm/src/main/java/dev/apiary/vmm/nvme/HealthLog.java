package dev.apiary.vmm.nvme;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the controller reports through log pages: the SMART / Health Information counters (NVMe 1.4 §5.14.1.2,
 * figure 194) and the Error Information entries (§5.14.1.1, figure 193), newest first. Counters are real:
 * they count the bytes and commands the namespace served since the controller was created (they survive
 * controller resets, as a drive's do).
 */
final class HealthLog {
    static final int ERROR_ENTRIES = 64;
    static final int ERROR_ENTRY_SIZE = 64;
    static final int SMART_SIZE = 512;
    static final int FIRMWARE_SLOT_SIZE = 512;
    /** 38 °C, in kelvin. */
    static final int COMPOSITE_TEMPERATURE = 311;

    final AtomicLong bytesRead = new AtomicLong();
    final AtomicLong bytesWritten = new AtomicLong();
    final AtomicLong readCommands = new AtomicLong();
    final AtomicLong writeCommands = new AtomicLong();
    final AtomicLong mediaErrors = new AtomicLong();
    private final long createdNanos = System.nanoTime();
    private long powerCycles = 1;

    private final Deque<byte[]> errors = new ArrayDeque<>();
    private long errorCount;

    /** Records an error; returns its Error Count. */
    synchronized long recordError(int sqId, int cid, int status, long lba, int nsid) {
        errorCount++;
        ByteBuffer e = ByteBuffer.allocate(ERROR_ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        e.putLong(0, errorCount);
        e.putShort(8, (short) sqId);
        e.putShort(10, (short) cid);
        e.putShort(12, (short) ((status & 0x7FFF) << 1));
        e.putShort(14, (short) 0xFFFF); // parameter error location: not specified
        e.putLong(16, lba);
        e.putInt(24, nsid);
        errors.addFirst(e.array());
        while (errors.size() > ERROR_ENTRIES) {
            errors.removeLast();
        }
        return errorCount;
    }

    synchronized long errorCount() {
        return errorCount;
    }

    synchronized void powerCycle() {
        powerCycles++;
    }

    synchronized byte[] errorLog() {
        byte[] out = new byte[ERROR_ENTRIES * ERROR_ENTRY_SIZE];
        int i = 0;
        for (byte[] e : errors) {
            System.arraycopy(e, 0, out, i * ERROR_ENTRY_SIZE, ERROR_ENTRY_SIZE);
            i++;
        }
        return out;
    }

    synchronized byte[] smartLog() {
        ByteBuffer b = ByteBuffer.allocate(SMART_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, (byte) 0); // critical warning
        b.putShort(1, (short) COMPOSITE_TEMPERATURE);
        b.put(3, (byte) 100); // available spare
        b.put(4, (byte) 10); // available spare threshold
        b.put(5, (byte) 0); // percentage used
        // Data units are thousands of 512-byte units, rounded up (figure 194).
        put128(b, 32, dataUnits(bytesRead.get()));
        put128(b, 48, dataUnits(bytesWritten.get()));
        put128(b, 64, readCommands.get());
        put128(b, 80, writeCommands.get());
        put128(b, 96, 0); // controller busy time
        put128(b, 112, powerCycles);
        put128(b, 128, (System.nanoTime() - createdNanos) / 3_600_000_000_000L);
        put128(b, 144, 0); // unsafe shutdowns
        put128(b, 160, mediaErrors.get());
        put128(b, 176, errorCount);
        return b.array();
    }

    static long dataUnits(long bytes) {
        long units512 = (bytes + 511) / 512;
        return (units512 + 999) / 1000;
    }

    static byte[] firmwareSlotLog(String firmware) {
        byte[] b = new byte[FIRMWARE_SLOT_SIZE];
        b[0] = 1; // AFI: slot 1 active
        byte[] fr = Identify.padded(firmware, 8);
        System.arraycopy(fr, 0, b, 8, 8);
        return b;
    }

    private static void put128(ByteBuffer b, int at, long value) {
        b.putLong(at, value);
        b.putLong(at + 8, 0);
    }
}
