package dev.apiary.vmm.nvme;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/** The 4 KiB Identify data structures (NVMe 1.4 §5.15.2), built from the controller's fixed facts. */
final class Identify {
    static final int SIZE = 4096;
    /** Identify Controller ACL and AERL, 0's based. */
    static final int ABORT_LIMIT = 3;
    static final int AER_LIMIT = 3;
    static final int OACS_FORMAT_NVM = 1 << 1;
    static final int OACS_DOORBELL_BUFFER_CONFIG = 1 << 8;
    static final int ONCS_DATASET_MANAGEMENT = 1 << 2;
    static final int ONCS_WRITE_ZEROES = 1 << 3;
    static final int ONCS_SAVE_SELECT = 1 << 4;
    /** The LBA formats offered (NLBAF = 1): index 0 = 512 bytes, 1 = 4096 bytes. */
    static final int[] LBA_FORMAT_SHIFTS = {9, 12};

    private Identify() {}

    /** Identify Controller (CNS 01h, figure 247). */
    static byte[] controller(NvmeConfig cfg, int mdts) {
        ByteBuffer b = buffer();
        b.putShort(0, (short) cfg.vendorId());
        b.putShort(2, (short) cfg.vendorId()); // SSVID
        b.put(4, padded(cfg.serial(), 20));
        b.put(24, padded(cfg.model(), 40));
        b.put(64, padded(cfg.firmware(), 8));
        b.put(72, (byte) 6); // RAB: 2^6 commands
        // IEEE OUI: none of ours; left 0.
        b.put(76, (byte) 0); // CMIC: one port, one controller
        b.put(77, (byte) mdts);
        b.putShort(78, (short) 0); // CNTLID
        b.putInt(80, NvmeRegs.VERSION_1_4);
        b.putInt(92, 0); // OAES: no optional events
        b.putInt(96, 0); // CTRATT
        b.put(111, (byte) 1); // CNTRLTYPE: I/O controller
        b.put(256, (byte) (OACS_FORMAT_NVM | OACS_DOORBELL_BUFFER_CONFIG));
        b.put(257, (byte) ((OACS_FORMAT_NVM | OACS_DOORBELL_BUFFER_CONFIG) >>> 8));
        b.put(258, (byte) ABORT_LIMIT);
        b.put(259, (byte) AER_LIMIT);
        b.put(260, (byte) 0x03); // FRMW: one slot, slot 1 read-only
        b.put(261, (byte) 0x04); // LPA: extended data for Get Log Page (NUMDU, LPOL/LPOU)
        b.put(262, (byte) (HealthLog.ERROR_ENTRIES - 1)); // ELPE
        b.put(263, (byte) 0); // NPSS: one power state
        b.putShort(266, (short) 0x0157); // WCTEMP 343 K
        b.putShort(268, (short) 0x0175); // CCTEMP 373 K
        // KAS (320) = 0: no keep-alive timer is enforced.
        b.put(512, (byte) ((NvmeRegs.SQES << 4) | NvmeRegs.SQES)); // SQES max|min
        b.put(513, (byte) ((NvmeRegs.CQES << 4) | NvmeRegs.CQES)); // CQES
        b.putInt(516, 1); // NN
        b.putShort(520, (short) (ONCS_DATASET_MANAGEMENT | ONCS_WRITE_ZEROES | ONCS_SAVE_SELECT));
        b.put(524, (byte) 0); // FNA
        b.put(525, (byte) 0x07); // VWC: present; Flush with NSID FFFFFFFFh supported
        b.putInt(536, 0); // SGLS: none
        b.put(768, padded("nqn.2024-01.dev.apiary:nvme:" + cfg.serial().trim(), 256, (byte) 0));
        // Power state 0 (figure 248): 25 W, no entry/exit latency to speak of.
        b.putShort(2048, (short) 2500);
        return b.array();
    }

    /**
     * Identify Namespace (CNS 00h, figure 249) for the one namespace, or the capabilities common to all
     * namespaces when {@code blocks} is negative (NSID FFFFFFFFh).
     */
    static byte[] namespace(long blocks, int formatIndex, boolean readOnly, byte[] nguid, byte[] eui64) {
        ByteBuffer b = buffer();
        if (blocks >= 0) {
            b.putLong(0, blocks); // NSZE
            b.putLong(8, blocks); // NCAP
            b.putLong(16, blocks); // NUSE
        }
        b.put(24, (byte) 0); // NSFEAT
        b.put(25, (byte) (LBA_FORMAT_SHIFTS.length - 1)); // NLBAF, 0's based
        b.put(26, (byte) formatIndex); // FLBAS
        // DLFEAT: deallocated blocks read as zeroes; Write Zeroes honours DEAC.
        b.put(33, (byte) 0x09);
        if (blocks >= 0) {
            long bytes = blocks << LBA_FORMAT_SHIFTS[formatIndex];
            b.putLong(48, bytes); // NVMCAP, low 64 bits
            b.put(99, (byte) (readOnly ? 1 : 0)); // NSATTR: write protected
            b.put(104, nguid);
            b.put(120, eui64);
        }
        for (int i = 0; i < LBA_FORMAT_SHIFTS.length; i++) {
            b.putInt(128 + 4 * i, LBA_FORMAT_SHIFTS[i] << 16); // MS 0, LBADS, RP 0
        }
        return b.array();
    }

    /** Active Namespace ID list (CNS 02h): the NSIDs above {@code after}, ascending, zero-terminated. */
    static byte[] activeNamespaces(int after) {
        ByteBuffer b = buffer();
        if (Integer.compareUnsigned(after, 1) < 0) {
            b.putInt(0, 1);
        }
        return b.array();
    }

    /** Namespace Identification Descriptor list (CNS 03h, figure 250): EUI-64, NGUID and UUID. */
    static byte[] descriptors(byte[] nguid, byte[] eui64, byte[] uuid) {
        ByteBuffer b = buffer();
        int at = 0;
        at = descriptor(b, at, 1, eui64);
        at = descriptor(b, at, 2, nguid);
        descriptor(b, at, 3, uuid);
        return b.array();
    }

    private static int descriptor(ByteBuffer b, int at, int type, byte[] id) {
        b.put(at, (byte) type);
        b.put(at + 1, (byte) id.length);
        b.put(at + 4, id);
        return at + 4 + id.length;
    }

    /** A 16-byte identifier derived from the serial (stable across boots and hosts). */
    static byte[] derivedId(String serial, String purpose) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest((purpose + ":" + serial).getBytes(StandardCharsets.US_ASCII));
            return Arrays.copyOf(h, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** ASCII, padded with spaces, as SN, MN and FR are (§1.5: ASCII strings). */
    static byte[] padded(String s, int length) {
        return padded(s, length, (byte) ' ');
    }

    private static byte[] padded(String s, int length, byte pad) {
        byte[] out = new byte[length];
        Arrays.fill(out, pad);
        byte[] src = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(src, 0, out, 0, Math.min(src.length, length));
        return out;
    }

    private static ByteBuffer buffer() {
        return ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
    }
}
