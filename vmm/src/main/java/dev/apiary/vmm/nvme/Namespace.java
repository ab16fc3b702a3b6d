package dev.apiary.vmm.nvme;

import dev.apiary.vmm.block.BlockBackend;

/**
 * Namespace 1, the only one: an image with an LBA format (512 or 4096 bytes, chosen by the machine and
 * changeable with Format NVM) and identifiers derived from the controller's serial number, so they are stable
 * across boots. Capacity is the image size in whole LBAs; a tail shorter than one LBA is not addressable.
 */
final class Namespace {
    static final int NSID = 1;
    static final int BROADCAST = 0xFFFF_FFFF;

    final BlockBackend disk;
    final byte[] nguid;
    final byte[] eui64;
    final byte[] uuid;
    private volatile int formatIndex;

    Namespace(BlockBackend disk, String serial, int lbaShift) {
        this.disk = disk;
        this.nguid = Identify.derivedId(serial, "nguid");
        this.eui64 = java.util.Arrays.copyOf(Identify.derivedId(serial, "eui64"), 8);
        byte[] u = Identify.derivedId(serial, "uuid");
        u[6] = (byte) ((u[6] & 0x0F) | 0x50); // RFC 4122 version 5 (name-based, SHA)
        u[8] = (byte) ((u[8] & 0x3F) | 0x80); // variant
        this.uuid = u;
        this.formatIndex = formatFor(lbaShift);
    }

    static int formatFor(int lbaShift) {
        for (int i = 0; i < Identify.LBA_FORMAT_SHIFTS.length; i++) {
            if (Identify.LBA_FORMAT_SHIFTS[i] == lbaShift) {
                return i;
            }
        }
        throw new IllegalArgumentException("no LBA format of 2^" + lbaShift + " bytes");
    }

    int formatIndex() {
        return formatIndex;
    }

    void format(int index) {
        this.formatIndex = index;
    }

    int lbaShift() {
        return Identify.LBA_FORMAT_SHIFTS[formatIndex];
    }

    long blocks() {
        return disk.size() >>> lbaShift();
    }

    boolean readOnly() {
        return disk.readOnly();
    }

    byte[] identify() {
        return Identify.namespace(blocks(), formatIndex, readOnly(), nguid, eui64);
    }
}
