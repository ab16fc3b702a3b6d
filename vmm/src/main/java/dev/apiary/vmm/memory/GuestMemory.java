package dev.apiary.vmm.memory;

import com.kenai.jffi.MemoryIO;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Guest RAM: a set of regions at guest-physical addresses, each backed by host memory (an mmap'd area under
 * KVM, a direct buffer in unit tests). Every access is bounds-checked against the regions and either succeeds
 * or throws {@link GuestMemoryException}; nothing here can touch host memory outside guest RAM.
 *
 * <p>Regions are cut into chunks of at most 1 GiB, aligned to 1 GiB in guest-physical space, because
 * ByteBuffers are int-indexed; a lookup is one array index ({@code gpa >>> 30}). Accesses are little-endian
 * with absolute indexes, so the hot path allocates nothing and copies nothing.
 */
public final class GuestMemory {
    public static final int CHUNK_SHIFT = 30;
    public static final long CHUNK_SIZE = 1L << CHUNK_SHIFT;

    /** One contiguous range of guest RAM and where it lives in this process (0 when not known). */
    public record Region(long gpa, long size, long hostAddress) {
        public long end() {
            return gpa + size;
        }
    }

    private final List<Region> regions;
    /** chunks[gpa >>> 30]: the buffer covering that GiB (index 0 at the chunk's base), or null. */
    private final ByteBuffer[] chunks;
    private final long[] chunkLimit;
    /** chunkAddress[gpa >>> 30]: where that chunk's buffer lives in this process. */
    private final long[] chunkAddress;
    private final long totalBytes;

    private GuestMemory(List<Region> regions, ByteBuffer[] chunks, long[] chunkLimit) {
        this.regions = List.copyOf(regions);
        this.chunks = chunks;
        this.chunkLimit = chunkLimit;
        this.chunkAddress = new long[chunks.length];
        for (int i = 0; i < chunks.length; i++) {
            if (chunks[i] != null) {
                if (!chunks[i].isDirect()) {
                    throw new IllegalArgumentException("guest RAM must be native memory (a direct buffer)");
                }
                chunkAddress[i] = MemoryIO.getInstance().getDirectBufferAddress(chunks[i]);
            }
        }
        this.totalBytes = regions.stream().mapToLong(Region::size).sum();
    }

    /** Something that can expose {@code length} bytes of host memory at {@code hostAddress} as a buffer. */
    @FunctionalInterface
    public interface BufferFactory {
        ByteBuffer wrap(long hostAddress, int length);
    }

    /**
     * Guest memory over host memory already mapped for each region (the KVM path). Regions must not overlap
     * and must start on a 1 GiB boundary or within a GiB no other region uses.
     */
    public static GuestMemory of(List<Region> regions, BufferFactory factory) {
        List<Region> sorted = new ArrayList<>(regions);
        sorted.sort((a, b) -> Long.compare(a.gpa(), b.gpa()));
        long top = sorted.isEmpty() ? 0 : sorted.get(sorted.size() - 1).end();
        int n = (int) ((top + CHUNK_SIZE - 1) >>> CHUNK_SHIFT);
        ByteBuffer[] chunks = new ByteBuffer[n];
        long[] limits = new long[n];
        for (Region r : sorted) {
            long gpa = r.gpa();
            while (gpa < r.end()) {
                int idx = (int) (gpa >>> CHUNK_SHIFT);
                long chunkBase = (long) idx << CHUNK_SHIFT;
                if (chunks[idx] != null) {
                    throw new IllegalArgumentException("regions share the GiB at 0x" + Long.toHexString(chunkBase));
                }
                long len = Math.min(r.end(), chunkBase + CHUNK_SIZE) - gpa;
                // A chunk buffer is indexed from the chunk base; a region starting mid-GiB would need an
                // offset, so require chunk-aligned starts except for the first GiB-relative position 0.
                if (gpa != chunkBase) {
                    throw new IllegalArgumentException("region must start on a 1 GiB boundary: 0x" + Long.toHexString(gpa));
                }
                ByteBuffer b = factory.wrap(r.hostAddress() + (gpa - r.gpa()), (int) len).order(ByteOrder.LITTLE_ENDIAN);
                chunks[idx] = b;
                limits[idx] = len;
                gpa += len;
            }
        }
        return new GuestMemory(sorted, chunks, limits);
    }

    /** Guest memory over fresh zeroed direct buffers (unit tests and tools); regions as (gpa, size) pairs. */
    public static GuestMemory allocate(long... gpaAndSize) {
        if (gpaAndSize.length % 2 != 0) {
            throw new IllegalArgumentException("pairs of (gpa, size) expected");
        }
        List<Region> rs = new ArrayList<>();
        for (int i = 0; i < gpaAndSize.length; i += 2) {
            rs.add(new Region(gpaAndSize[i], gpaAndSize[i + 1], 0));
        }
        return of(rs, (addr, len) -> ByteBuffer.allocateDirect(len));
    }

    /**
     * The buffer over guest-physical GiB {@code gib} (index 0 at {@code gib << 30}, limit = RAM bytes in that
     * GiB), or null where that GiB has no RAM: the software CPU's direct path to RAM.
     */
    public ByteBuffer chunk(int gib) {
        return gib >= 0 && gib < chunks.length ? chunks[gib] : null;
    }

    /** How many GiB slots {@link #chunk} answers for. */
    public int chunkCount() {
        return chunks.length;
    }

    public List<Region> regions() {
        return Collections.unmodifiableList(regions);
    }

    public long totalBytes() {
        return totalBytes;
    }

    /** Whether [gpa, gpa+length) is entirely guest RAM (length 0 counts as valid if gpa is RAM or its end). */
    public boolean isValid(long gpa, long length) {
        if (gpa < 0 || length < 0 || gpa + length < gpa) {
            return false;
        }
        long end = gpa + length;
        long p = gpa;
        do {
            long chunk = p >>> CHUNK_SHIFT;
            if (chunk >= chunks.length || chunks[(int) chunk] == null) {
                return false;
            }
            int idx = (int) chunk;
            long chunkBase = (long) idx << CHUNK_SHIFT;
            long chunkEnd = chunkBase + chunkLimit[idx];
            if (p >= chunkEnd && !(length == 0 && p == chunkEnd)) {
                return false;
            }
            if (end <= chunkEnd) {
                return true;
            }
            if (chunkEnd != chunkBase + CHUNK_SIZE) {
                return false;
            }
            p = chunkEnd;
        } while (true);
    }

    private ByteBuffer chunkFor(long gpa, int size) throws GuestMemoryException {
        long chunk = gpa >>> CHUNK_SHIFT;
        if (gpa < 0 || chunk >= chunks.length) {
            throw new GuestMemoryException(gpa, size);
        }
        int idx = (int) chunk;
        ByteBuffer b = chunks[idx];
        if (b == null || (gpa & (CHUNK_SIZE - 1)) + size > chunkLimit[idx]) {
            throw new GuestMemoryException(gpa, size);
        }
        return b;
    }

    private static int off(long gpa) {
        return (int) (gpa & (CHUNK_SIZE - 1));
    }

    public byte read8(long gpa) throws GuestMemoryException {
        return chunkFor(gpa, 1).get(off(gpa));
    }

    public short read16(long gpa) throws GuestMemoryException {
        return chunkFor(gpa, 2).getShort(off(gpa));
    }

    public int read32(long gpa) throws GuestMemoryException {
        return chunkFor(gpa, 4).getInt(off(gpa));
    }

    public long read64(long gpa) throws GuestMemoryException {
        return chunkFor(gpa, 8).getLong(off(gpa));
    }

    public void write8(long gpa, byte v) throws GuestMemoryException {
        chunkFor(gpa, 1).put(off(gpa), v);
        written(gpa, 1);
    }

    public void write16(long gpa, short v) throws GuestMemoryException {
        chunkFor(gpa, 2).putShort(off(gpa), v);
        written(gpa, 2);
    }

    public void write32(long gpa, int v) throws GuestMemoryException {
        chunkFor(gpa, 4).putInt(off(gpa), v);
        written(gpa, 4);
    }

    public void write64(long gpa, long v) throws GuestMemoryException {
        chunkFor(gpa, 8).putLong(off(gpa), v);
        written(gpa, 8);
    }

    /** Copies guest bytes into {@code dst[dstOff, dstOff+len)}; may span chunks. */
    public void read(long gpa, byte[] dst, int dstOff, int len) throws GuestMemoryException {
        checkRange(gpa, len);
        while (len > 0) {
            int n = (int) Math.min(len, CHUNK_SIZE - off(gpa));
            chunks[(int) (gpa >>> CHUNK_SHIFT)].get(off(gpa), dst, dstOff, n);
            gpa += n;
            dstOff += n;
            len -= n;
        }
    }

    public void write(long gpa, byte[] src, int srcOff, int len) throws GuestMemoryException {
        checkRange(gpa, len);
        while (len > 0) {
            int n = (int) Math.min(len, CHUNK_SIZE - off(gpa));
            chunks[(int) (gpa >>> CHUNK_SHIFT)].put(off(gpa), src, srcOff, n);
            written(gpa, n);
            gpa += n;
            srcOff += n;
            len -= n;
        }
    }

    public void write(long gpa, byte[] src) throws GuestMemoryException {
        write(gpa, src, 0, src.length);
    }

    /** Fills guest bytes with a value. */
    public void fill(long gpa, long len, byte value) throws GuestMemoryException {
        checkRange(gpa, len);
        byte[] block = new byte[(int) Math.min(len, 1 << 16)];
        if (value != 0) {
            java.util.Arrays.fill(block, value);
        }
        while (len > 0) {
            int n = (int) Math.min(len, block.length);
            write(gpa, block, 0, n);
            gpa += n;
            len -= n;
        }
    }

    /**
     * A view of guest RAM (no copy), little-endian, position 0 at {@code gpa}. The range must not cross a
     * 1 GiB boundary; callers that can see such ranges (DMA) split them, see {@link #maxContiguous}.
     */
    public ByteBuffer slice(long gpa, int len) throws GuestMemoryException {
        ByteBuffer b = chunkFor(gpa, len);
        written(gpa, len); // the caller may write through the view (DMA into guest RAM)
        return b.slice(off(gpa), len).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Where {@code [gpa, gpa+len)} lives in this process, for native I/O straight into or out of guest RAM
     * (readv/writev on a device's buffers). The range must be RAM within one 1 GiB chunk (see
     * {@link #maxContiguous}); {@code write}: the caller will write there, which is reported to the write
     * observer as every other device write is.
     */
    public long hostAddress(long gpa, int len, boolean write) throws GuestMemoryException {
        chunkFor(gpa, len);
        if (write) {
            written(gpa, len);
        }
        return chunkAddress[(int) (gpa >>> CHUNK_SHIFT)] + off(gpa);
    }

    /** How many bytes from {@code gpa} (at most {@code len}) a single {@link #slice} can cover. */
    public int maxContiguous(long gpa, int len) {
        return (int) Math.min(len, CHUNK_SIZE - off(gpa));
    }

    /** Told about every write that does not come from a vCPU: device DMA, the boot loader. */
    @FunctionalInterface
    public interface WriteObserver {
        void written(long gpa, long length);
    }

    private volatile WriteObserver observer;

    /**
     * Registers the one observer of writes made through this object (the software CPU drops decoded code in
     * the pages they touch, so code loaded by DMA or a reset's loader is decoded afresh). Writes a vCPU makes
     * directly into RAM do not pass here. KVM needs none: the hardware sees every write.
     */
    public void observeWrites(WriteObserver o) {
        observer = o;
    }

    private void written(long gpa, long length) {
        WriteObserver o = observer;
        if (o != null) {
            o.written(gpa, length);
        }
    }

    private void checkRange(long gpa, long len) throws GuestMemoryException {
        if (!isValid(gpa, len)) {
            throw new GuestMemoryException(gpa, len);
        }
    }
}
