package dev.apiary.vmm.memory;

import dev.apiary.vmm.os.LibC;
import dev.apiary.vmm.os.Native;
import dev.apiary.vmm.os.NativeException;
import java.util.ArrayList;
import java.util.List;

/**
 * Guest RAM as anonymous host memory: one private mapping per region, reserved lazily (MAP_NORESERVE, so a
 * 4 GiB guest costs only the pages it touches) and left out of core dumps (they would be large and leak guest
 * data). KVM maps these into the guest; the software CPU reads them through {@link GuestMemory}'s buffers.
 */
public final class AnonymousRam implements AutoCloseable {
    private final List<GuestMemory.Region> regions;
    private final GuestMemory memory;
    private boolean closed;

    private AnonymousRam(List<GuestMemory.Region> regions) {
        this.regions = List.copyOf(regions);
        this.memory = GuestMemory.of(regions, Native::buffer);
    }

    /** Maps each (gpa, size) region. */
    public static AnonymousRam map(long... gpaAndSize) {
        List<GuestMemory.Region> regions = new ArrayList<>();
        try {
            for (int i = 0; i < gpaAndSize.length; i += 2) {
                long gpa = gpaAndSize[i];
                long size = gpaAndSize[i + 1];
                long p = Native.libc().mmap(0, size, LibC.PROT_READ | LibC.PROT_WRITE,
                        LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
                if (p == -1L || p == 0) {
                    throw new NativeException("mmap of " + size + " bytes of guest RAM", Native.errno());
                }
                regions.add(new GuestMemory.Region(gpa, size, p));
                Native.libc().madvise(p, size, LibC.MADV_DONTDUMP);
            }
            return new AnonymousRam(regions);
        } catch (RuntimeException e) {
            unmap(regions);
            throw e;
        }
    }

    public GuestMemory memory() {
        return memory;
    }

    public List<GuestMemory.Region> regions() {
        return regions;
    }

    private static void unmap(List<GuestMemory.Region> regions) {
        for (GuestMemory.Region r : regions) {
            Native.libc().munmap(r.hostAddress(), r.size());
        }
    }

    /** Unmaps the RAM; the {@link GuestMemory} must not be used afterwards. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            unmap(regions);
        }
    }
}
