package dev.apiary.vmm.bus;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A range map from addresses (I/O ports or guest-physical MMIO addresses) to device handlers. Lookups are
 * lock-free over an immutable snapshot, so vCPU threads never block on a guest remapping a BAR. An access no
 * handler claims is an explicit result: reads return all ones, writes are dropped, both are counted and
 * logged (rate-limited).
 */
public final class Bus {
    private static final System.Logger LOG = System.getLogger(Bus.class.getName());
    private static final long LOG_INTERVAL_NANOS = 1_000_000_000L;

    /** One mapped window. */
    public record Mapping(long base, long length, String name, IoHandler handler) {
        public long end() {
            return base + length;
        }

        boolean overlaps(long b, long len) {
            return b < end() && base < b + len;
        }
    }

    private final String name;
    private volatile Mapping[] mappings = new Mapping[0];
    private final Object writeLock = new Object();
    private final java.util.concurrent.atomic.AtomicLong unclaimed = new java.util.concurrent.atomic.AtomicLong();
    private volatile long lastLogNanos;

    public Bus(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** Maps a window; overlapping an existing window is a programming error. */
    public void register(long base, long length, String name, IoHandler handler) {
        if (length <= 0 || base < 0 || base + length < base) {
            throw new IllegalArgumentException("bad window " + name + " at 0x" + Long.toHexString(base));
        }
        synchronized (writeLock) {
            for (Mapping m : mappings) {
                if (m.overlaps(base, length)) {
                    throw new IllegalStateException(String.format("%s: %s at 0x%x+0x%x overlaps %s at 0x%x+0x%x",
                            this.name, name, base, length, m.name(), m.base(), m.length()));
                }
            }
            List<Mapping> next = new ArrayList<>(List.of(mappings));
            next.add(new Mapping(base, length, name, handler));
            next.sort((a, b) -> Long.compare(a.base(), b.base()));
            mappings = next.toArray(new Mapping[0]);
        }
    }

    /**
     * Maps a window that a guest chose (a PCI BAR): unlike {@link #register}, a window overlapping another is
     * refused with {@code false} instead of an exception, since a guest may program any value.
     */
    public boolean tryRegister(long base, long length, String name, IoHandler handler) {
        try {
            register(base, length, name, handler);
            return true;
        } catch (IllegalArgumentException | IllegalStateException e) {
            return false;
        }
    }

    /** Removes every window of this handler. */
    public void unregister(IoHandler handler) {
        synchronized (writeLock) {
            List<Mapping> next = new ArrayList<>();
            for (Mapping m : mappings) {
                if (m.handler() != handler) {
                    next.add(m);
                }
            }
            mappings = next.toArray(new Mapping[0]);
        }
    }

    /** Removes the window starting at {@code base} of this handler, if any. */
    public void unregister(long base, IoHandler handler) {
        synchronized (writeLock) {
            List<Mapping> next = new ArrayList<>();
            for (Mapping m : mappings) {
                if (!(m.handler() == handler && m.base() == base)) {
                    next.add(m);
                }
            }
            mappings = next.toArray(new Mapping[0]);
        }
    }

    public Optional<Mapping> find(long addr) {
        return Optional.ofNullable(lookup(addr));
    }

    public List<Mapping> mappings() {
        return List.of(mappings);
    }

    private Mapping lookup(long addr) {
        Mapping[] ms = mappings;
        int lo = 0;
        int hi = ms.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Mapping m = ms[mid];
            if (addr < m.base()) {
                hi = mid - 1;
            } else if (addr >= m.end()) {
                lo = mid + 1;
            } else {
                return m;
            }
        }
        return null;
    }

    /** Reads {@code size} bytes at {@code addr}; all ones when nobody claims it. */
    public long read(long addr, int size) {
        Mapping m = lookup(addr);
        if (m == null) {
            noteUnclaimed("read", addr, size, 0);
            return size >= 8 ? -1L : (1L << (size * 8)) - 1;
        }
        return m.handler().read(addr - m.base(), size);
    }

    /** Writes {@code size} bytes at {@code addr}; dropped when nobody claims it. */
    public void write(long addr, int size, long value) {
        Mapping m = lookup(addr);
        if (m == null) {
            noteUnclaimed("write", addr, size, value);
            return;
        }
        m.handler().write(addr - m.base(), size, value);
    }

    /** How many accesses nobody claimed since the VM started. */
    public long unclaimedAccesses() {
        return unclaimed.get();
    }

    private void noteUnclaimed(String op, long addr, int size, long value) {
        long n = unclaimed.incrementAndGet();
        long now = System.nanoTime();
        if (now - lastLogNanos > LOG_INTERVAL_NANOS) {
            lastLogNanos = now;
            LOG.log(Level.DEBUG, () -> String.format("%s: unclaimed %s of %d bytes at 0x%x (value 0x%x); %d so far",
                    name, op, size, addr, value, n));
        }
    }
}
