package dev.apiary.vmm.nvme;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;

/** One 64-byte submission queue entry (NVMe 1.4 §4.2, figure 104), as fetched from guest memory. */
record Command(int cdw0, int nsid, long mptr, long prp1, long prp2,
        int cdw10, int cdw11, int cdw12, int cdw13, int cdw14, int cdw15) {

    static Command read(GuestMemory mem, long gpa) throws GuestMemoryException {
        return new Command(mem.read32(gpa), mem.read32(gpa + 4), mem.read64(gpa + 16), mem.read64(gpa + 24),
                mem.read64(gpa + 32), mem.read32(gpa + 40), mem.read32(gpa + 44), mem.read32(gpa + 48),
                mem.read32(gpa + 52), mem.read32(gpa + 56), mem.read32(gpa + 60));
    }

    int opcode() {
        return cdw0 & 0xFF;
    }

    /** FUSE, bits 9:8: fused operations are not supported. */
    int fuse() {
        return (cdw0 >>> 8) & 0x3;
    }

    /** PSDT, bits 15:14: 0 = PRPs; SGLs are not supported. */
    int psdt() {
        return (cdw0 >>> 14) & 0x3;
    }

    int cid() {
        return cdw0 >>> 16;
    }
}
