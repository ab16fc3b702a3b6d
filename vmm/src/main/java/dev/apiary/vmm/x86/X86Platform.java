package dev.apiary.vmm.x86;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the vCPUs of one VM share: the bus, the clock, the RAM chunks, the cache of decoded code per
 * guest-physical page with its per-page "holds code" bits, and the lock for the atomic operations that a
 * compare-and-set cannot do (misaligned LOCK'd accesses, CMPXCHG16B).
 */
public final class X86Platform {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    final CpuBus bus;
    final GuestClock clock;
    /** RAM chunks by GiB (little-endian duplicates of the bus's buffers), null where there is no RAM. */
    final ByteBuffer[] chunks;
    final int[] chunkLimits;
    /** One bit per 4 KiB page of RAM: decoded code of that page is cached. Indexed [gib][page >> 6]. */
    final long[][] codeBits;
    private final ConcurrentHashMap<Long, CodePage> codePages = new ConcurrentHashMap<>();
    /** What was logged once for this VM (unimplemented opcodes, unknown MSRs), capped so a guest cannot flood the log. */
    private final Set<String> logged = ConcurrentHashMap.newKeySet();
    private static final int MAX_LOGGED = 64;

    /** Serialises the atomic read-modify-writes that cannot be one compare-and-set. */
    final Object atomicLock = new Object();

    /**
     * How often a block start must be reached before it is translated to JVM bytecode; 0 turns the translator
     * off. From the system property {@code apiary.x86.translate} ("off", or the count; default 5000).
     */
    final int translateThreshold;
    final Translator translator = new Translator();

    public X86Platform(CpuBus bus, GuestClock clock) {
        this(bus, clock, thresholdProperty());
    }

    /** A platform with the given translation threshold (0: interpret only; 1: translate every block at once). */
    X86Platform(CpuBus bus, GuestClock clock, int translateThreshold) {
        this.translateThreshold = Math.max(0, Math.min(translateThreshold, Short.MAX_VALUE));
        this.bus = bus;
        this.clock = clock;
        int n = bus.ramChunkCount();
        chunks = new ByteBuffer[n];
        chunkLimits = new int[n];
        codeBits = new long[n][];
        for (int i = 0; i < n; i++) {
            ByteBuffer b = bus.ramChunk(i);
            if (b != null) {
                chunks[i] = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                chunkLimits[i] = b.limit();
                codeBits[i] = new long[1 << (CpuBus.CHUNK_SHIFT - 12 - 6)];
            }
        }
    }

    private static int thresholdProperty() {
        String v = System.getProperty("apiary.x86.translate", "5000");
        if (v.equals("off")) {
            return 0;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("apiary.x86.translate: \"off\" or a count, not " + v, e);
        }
    }

    /**
     * Gets the translator going on its background thread (loading and compiling it takes a few hundred
     * milliseconds in a fresh JVM), so the guest's first hot block is translated without that wait. Optional;
     * the emulated accelerator calls it when it creates the VM.
     */
    public void warmUpTranslator() {
        if (translateThreshold > 1) {
            translator.warmUp();
        }
    }

    /** Whether {@code key} is logged now: the first time, and only while fewer than 64 keys were logged. */
    boolean logOnce(String key) {
        return logged.size() < MAX_LOGGED && logged.add(key);
    }

    /** DMA writers call this: drop decoded code in [physical, physical + length). */
    public void invalidateCode(long physical, long length) {
        if (length <= 0) {
            return;
        }
        long first = physical >>> 12;
        long last = (physical + length - 1) >>> 12;
        for (long p = first; p <= last; p++) {
            if (isCode(p << 12)) {
                invalidatePage(p << 12);
            }
        }
    }

    /** Whether the page of {@code physical} holds cached decoded code (checked by every guest store). */
    boolean isCode(long physical) {
        int gib = (int) (physical >>> 30);
        if (gib < 0 || gib >= codeBits.length) {
            return false;
        }
        long[] bits = codeBits[gib];
        if (bits == null) {
            return false;
        }
        int page = (int) ((physical & 0x3FFF_FFFFL) >>> 12);
        return page >>> 6 < bits.length && (bits[page >>> 6] & (1L << page)) != 0;
    }

    /** Instructions decoded into the code cache, and code pages dropped because they were written. */
    final LongAdder decodes = new LongAdder();
    private final LongAdder invalidations = new LongAdder();

    /** The code cache's counters, for {@code -Dapiary.x86.stats}. */
    public String statistics() {
        return String.format("%,d decodes, %,d code pages written, %,d blocks translated", decodes.sum(),
                invalidations.sum(), translator.translated());
    }

    void invalidatePage(long physical) {
        invalidations.increment();
        long key = physical >>> 12;
        int gib = (int) (physical >>> 30);
        int page = (int) ((physical & 0x3FFF_FFFFL) >>> 12);
        long[] bits = gib >= 0 && gib < codeBits.length ? codeBits[gib] : null;
        if (bits != null) { // a ROM page (the head of a block running on into RAM) has no bits
            LONGS.getAndBitwiseAnd(bits, page >>> 6, ~(1L << page));
        }
        CodePage cp = codePages.remove(key);
        if (cp != null) {
            cp.valid = false;
            CodePage[] heads = cp.heads;
            for (CodePage h : heads) {
                if (h.valid) {
                    invalidatePage(h.physical);
                }
            }
        }
    }

    /**
     * Records that blocks of {@code head} run on into {@code tail}, so that a write to {@code tail} drops
     * {@code head}'s decoded code too. False when {@code tail} was written meanwhile (no longer valid).
     */
    boolean dependsOn(CodePage head, CodePage tail) {
        synchronized (tail) {
            CodePage[] heads = tail.heads;
            for (CodePage h : heads) {
                if (h == head) {
                    return tail.valid;
                }
            }
            // pages written since (no longer valid) are dropped, so a guest rewriting code keeps the list short
            CodePage[] more = Arrays.stream(heads).filter(h -> h.valid).toArray(n -> new CodePage[n + 1]);
            more[more.length - 1] = head;
            tail.heads = more;
        }
        // checked after publishing: a write to the tail after this point sees the head in the list
        return tail.valid;
    }

    /**
     * The decoded-code page of RAM page {@code physical}, created and marked as code on first use; also for ROM
     * pages ({@link CpuBus#isRom}); null for other pages that are not RAM (code fetched from MMIO is decoded
     * every time).
     */
    CodePage codePage(long physical) {
        int gib = (int) (physical >>> 30);
        if (gib < 0 || gib >= chunks.length || chunks[gib] == null || (physical & 0x3FFF_FFFFL) >= chunkLimits[gib]) {
            return bus.isRom(physical) ? romPage(physical) : null;
        }
        Long key = physical >>> 12;
        CodePage cp = codePages.get(key);
        if (cp == null) {
            int page = (int) ((physical & 0x3FFF_FFFFL) >>> 12);
            // Mark before decoding: a store racing with the decode then invalidates the new page (SDM Vol. 3A
            // 8.1.3: cross-modifying code needs the executing CPU to serialise anyway).
            LONGS.getAndBitwiseOr(codeBits[gib], page >>> 6, 1L << page);
            CodePage fresh = new CodePage(physical & ~0xFFFL);
            cp = codePages.putIfAbsent(key, fresh);
            if (cp == null) {
                cp = fresh;
            }
        }
        return cp;
    }

    /** The decoded-code page of a ROM page: never written, so never invalidated and not marked in the code bits. */
    private CodePage romPage(long physical) {
        Long key = physical >>> 12;
        CodePage cp = codePages.get(key);
        if (cp == null) {
            CodePage fresh = new CodePage(physical & ~0xFFFL);
            cp = codePages.putIfAbsent(key, fresh);
            if (cp == null) {
                cp = fresh;
            }
        }
        return cp;
    }

    /** The decoded instructions of one 4 KiB guest-physical page, by offset; invalid once the page is written. */
    private static final CodePage[] NO_PAGES = new CodePage[0];

    static final class CodePage {
        final long physical;
        final Insn[] slots = new Insn[4096];
        volatile boolean valid = true;
        /** Translated blocks by start offset (published like {@link #slots}), and how often each start was reached; both made on first use. */
        volatile Block[] blocks;
        short[] heat;
        /** The pages whose blocks run on into this one (copy on write, under this page's lock). */
        volatile CodePage[] heads = NO_PAGES;

        CodePage(long physical) {
            this.physical = physical;
        }
    }
}
