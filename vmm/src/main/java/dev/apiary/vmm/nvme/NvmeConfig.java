package dev.apiary.vmm.nvme;

import java.nio.charset.StandardCharsets;

/**
 * What the machine decides about one NVMe controller: its identity strings, how many I/O queue pairs it
 * offers, the queue depth, the LBA size and the largest transfer.
 *
 * @param serial       Identify Controller SN: up to 20 printable ASCII characters, stable across boots (guests
 *                     use it to name the disk, e.g. {@code /dev/disk/by-id})
 * @param model        Identify Controller MN: up to 40 printable ASCII characters
 * @param firmware     Identify Controller FR: up to 8 printable ASCII characters
 * @param maxIoQueues  I/O submission/completion queue pairs offered (Number of Queues feature); one MSI-X
 *                     vector each plus one for the admin queue
 * @param queueEntries the largest queue a guest may create (CAP.MQES + 1), 2..65536
 * @param lbaShift     log2 of the LBA size in use at power-on: 9 (512 bytes) or 12 (4096 bytes)
 * @param mdts         Identify Controller MDTS: the largest transfer is 2^mdts pages of 4 KiB, 1..12
 * @param vendorId     PCI vendor ID
 * @param deviceId     PCI device ID
 */
public record NvmeConfig(String serial, String model, String firmware, int maxIoQueues, int queueEntries,
        int lbaShift, int mdts, int vendorId, int deviceId) {
    /** Red Hat's ID for QEMU's emulated NVMe controller: guests bind by class code, so any ID works. */
    public static final int DEFAULT_VENDOR_ID = 0x1b36;
    public static final int DEFAULT_DEVICE_ID = 0x0010;
    public static final int MIN_IO_QUEUES = 16;
    /** Bounded by BAR0 (doorbells in the first 16 KiB) and the MSI-X table (2048 vectors). */
    public static final int MAX_IO_QUEUES = 1023;

    public NvmeConfig {
        checkAscii(serial, 20, "serial");
        checkAscii(model, 40, "model");
        checkAscii(firmware, 8, "firmware");
        if (maxIoQueues < 1 || maxIoQueues > MAX_IO_QUEUES) {
            throw new IllegalArgumentException("maxIoQueues must be 1.." + MAX_IO_QUEUES + ": " + maxIoQueues);
        }
        if (queueEntries < 2 || queueEntries > 65536) {
            throw new IllegalArgumentException("queueEntries must be 2..65536: " + queueEntries);
        }
        if (lbaShift != 9 && lbaShift != 12) {
            throw new IllegalArgumentException("LBA size must be 512 or 4096 bytes");
        }
        if (mdts < 1 || mdts > 12) {
            throw new IllegalArgumentException("mdts must be 1..12: " + mdts);
        }
        if (vendorId < 0 || vendorId > 0xFFFF || deviceId < 0 || deviceId > 0xFFFF) {
            throw new IllegalArgumentException("bad PCI IDs");
        }
    }

    /**
     * The defaults for a disk: one I/O queue pair per vCPU and at least {@value #MIN_IO_QUEUES}, 1024-entry
     * queues, 512-byte LBAs, 1 MiB transfers.
     */
    public static NvmeConfig defaults(String serial, int vcpus) {
        int queues = Math.min(MAX_IO_QUEUES, Math.max(MIN_IO_QUEUES, vcpus));
        return new NvmeConfig(serial, "Apiary NVMe Disk", "1.0", queues, 1024, 9, 8,
                DEFAULT_VENDOR_ID, DEFAULT_DEVICE_ID);
    }

    public NvmeConfig withLbaSize(int bytes) {
        int shift = Integer.numberOfTrailingZeros(bytes);
        if (Integer.bitCount(bytes) != 1) {
            throw new IllegalArgumentException("LBA size must be 512 or 4096 bytes");
        }
        return new NvmeConfig(serial, model, firmware, maxIoQueues, queueEntries, shift, mdts, vendorId, deviceId);
    }

    public NvmeConfig withMaxIoQueues(int n) {
        return new NvmeConfig(serial, model, firmware, n, queueEntries, lbaShift, mdts, vendorId, deviceId);
    }

    public NvmeConfig withQueueEntries(int n) {
        return new NvmeConfig(serial, model, firmware, maxIoQueues, n, lbaShift, mdts, vendorId, deviceId);
    }

    private static void checkAscii(String s, int max, String what) {
        if (s == null || s.isEmpty() || s.length() > max) {
            throw new IllegalArgumentException(what + " must be 1.." + max + " characters");
        }
        for (byte b : s.getBytes(StandardCharsets.US_ASCII)) {
            if (b < 0x20 || b > 0x7E) {
                throw new IllegalArgumentException(what + " must be printable ASCII: " + s);
            }
        }
    }
}
