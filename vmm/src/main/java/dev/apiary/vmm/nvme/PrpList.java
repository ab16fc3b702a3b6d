package dev.apiary.vmm.nvme;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The guest memory a command's data pointer (PRP1, PRP2 and PRP lists, NVMe 1.4 §4.3) describes, resolved
 * and checked before any data moves: every page must be guest RAM (else Data Transfer Error), PRP1 must be
 * dword aligned and every later entry page aligned (else Invalid PRP Offset), and a PRP list chain that comes
 * back to a list page it already visited is refused (Invalid Field in Command). The walk is bounded by the
 * transfer length, which the caller has already checked against MDTS, so no list can make it run long.
 *
 * <p>Physically adjacent pages are merged into one range, so a transfer into contiguous guest memory is a
 * single buffer (and a single positional file read or write).
 */
final class PrpList {
    private final GuestMemory mem;
    private final long[] gpa;
    private final int[] len;
    private final int count;
    private final long length;

    private PrpList(GuestMemory mem, long[] gpa, int[] len, int count, long length) {
        this.mem = mem;
        this.gpa = gpa;
        this.len = len;
        this.count = count;
        this.length = length;
    }

    /**
     * Resolves the data pointer of a transfer of {@code length} bytes ({@code length} at most 2^31-1) with
     * memory page size {@code pageSize}.
     */
    static PrpList resolve(GuestMemory mem, long prp1, long prp2, long length, int pageSize) throws CommandException {
        if (length <= 0) {
            return new PrpList(mem, new long[0], new int[0], 0, 0);
        }
        long pageMask = pageSize - 1L;
        Builder b = new Builder(mem, (int) Math.min(length / pageSize + 2, 1 << 16));
        if ((prp1 & 0x3) != 0) {
            throw new CommandException(NvmeStatus.INVALID_PRP_OFFSET | NvmeStatus.DNR, "PRP1 not dword aligned");
        }
        long first = Math.min(length, pageSize - (prp1 & pageMask));
        b.add(prp1, first);
        long remaining = length - first;
        if (remaining == 0) {
            return b.build(length);
        }
        if (remaining <= pageSize) {
            if ((prp2 & pageMask) != 0) {
                throw new CommandException(NvmeStatus.INVALID_PRP_OFFSET | NvmeStatus.DNR, "PRP2 has an offset");
            }
            b.add(prp2, remaining);
            return b.build(length);
        }
        // PRP2 points to a PRP list; it may start anywhere in a page, qword aligned (§4.3).
        if ((prp2 & 0x7) != 0) {
            throw new CommandException(NvmeStatus.INVALID_PRP_OFFSET | NvmeStatus.DNR, "PRP list not qword aligned");
        }
        Set<Long> visited = new HashSet<>();
        long entryAddr = prp2;
        visited.add(entryAddr & ~pageMask);
        while (remaining > 0) {
            boolean lastInPage = ((entryAddr + 8) & pageMask) == 0;
            long entry;
            try {
                entry = mem.read64(entryAddr);
            } catch (GuestMemoryException e) {
                throw new CommandException(NvmeStatus.DATA_TRANSFER_ERROR, "PRP list outside guest RAM");
            }
            if ((entry & pageMask) != 0) {
                throw new CommandException(NvmeStatus.INVALID_PRP_OFFSET | NvmeStatus.DNR, "PRP entry has an offset");
            }
            if (lastInPage && remaining > pageSize) {
                // More entries needed than fit: the last entry points to the next list page.
                if (!visited.add(entry)) {
                    throw CommandException.invalidField("PRP list chain loops");
                }
                entryAddr = entry;
                continue;
            }
            long n = Math.min(remaining, pageSize);
            b.add(entry, n);
            remaining -= n;
            entryAddr += 8;
        }
        return b.build(length);
    }

    long length() {
        return length;
    }

    /** How many merged ranges. */
    int ranges() {
        return count;
    }

    long rangeAddress(int i) {
        return gpa[i];
    }

    int rangeLength(int i) {
        return len[i];
    }

    /** A view of range {@code i} (position 0, limit its length). */
    ByteBuffer buffer(int i) {
        try {
            return mem.slice(gpa[i], len[i]);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("checked range became invalid", e);
        }
    }

    /** Copies {@code src} into the described guest memory (at most its length). */
    void copyIn(byte[] src) {
        int off = 0;
        for (int i = 0; i < count && off < src.length; i++) {
            int n = Math.min(len[i], src.length - off);
            buffer(i).put(src, off, n);
            off += n;
        }
    }

    /** Reads the described guest memory into a new array. */
    byte[] copyOut() {
        byte[] out = new byte[(int) length];
        int off = 0;
        for (int i = 0; i < count; i++) {
            buffer(i).get(out, off, len[i]);
            off += len[i];
        }
        return out;
    }

    private static final class Builder {
        private final GuestMemory mem;
        private long[] gpa;
        private int[] len;
        private int count;

        Builder(GuestMemory mem, int capacity) {
            this.mem = mem;
            this.gpa = new long[Math.max(capacity, 2)];
            this.len = new int[gpa.length];
        }

        void add(long address, long n) throws CommandException {
            if (!mem.isValid(address, n)) {
                throw new CommandException(NvmeStatus.DATA_TRANSFER_ERROR, "PRP outside guest RAM");
            }
            if (count > 0) {
                long lastEnd = gpa[count - 1] + len[count - 1];
                boolean sameChunk = (gpa[count - 1] >>> GuestMemory.CHUNK_SHIFT) == ((address + n - 1) >>> GuestMemory.CHUNK_SHIFT);
                if (lastEnd == address && sameChunk && (long) len[count - 1] + n <= Integer.MAX_VALUE) {
                    len[count - 1] += (int) n;
                    return;
                }
            }
            if (count == gpa.length) {
                gpa = java.util.Arrays.copyOf(gpa, count * 2);
                len = java.util.Arrays.copyOf(len, count * 2);
            }
            gpa[count] = address;
            len[count] = (int) n;
            count++;
        }

        PrpList build(long length) {
            return new PrpList(mem, gpa, len, count, length);
        }
    }
}
