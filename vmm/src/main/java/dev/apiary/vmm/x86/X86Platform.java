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
    private static final VarHandle CODE_MAP = MethodHandles.arrayElementVarHandle(byte[].class);

    final CpuBus bus;
    final GuestClock clock;
    /** RAM chunks by GiB (little-endian duplicates of the bus's buffers), null where there is no RAM. */
    final ByteBuffer[] chunks;
    final int[] chunkLimits;
    /** The host address of each direct RAM chunk (0: a heap buffer, or no RAM), for the TLB's fast path. */
    final long[] chunkHost;
    /**
     * One byte per 4 KiB page of guest-physical RAM (indexed by physical page number): nonzero while decoded code
     * of that page is cached. Every guest store checks it (the TLB's fast path too).
     */
    final byte[] codeMap;
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
    /** The sampling profile of guest RIPs, with {@code -Dapiary.x86.profile=true}; else null. */
    final GuestProfile profile = Boolean.getBoolean("apiary.x86.profile") ? new GuestProfile() : null;

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
        chunkHost = new long[n];
        codeMap = new byte[n << (CpuBus.CHUNK_SHIFT - 12)];
        for (int i = 0; i < n; i++) {
            ByteBuffer b = bus.ramChunk(i);
            if (b != null) {
                chunks[i] = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                chunkLimits[i] = b.limit();
                chunkHost[i] = HostRam.address(chunks[i]);
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
        long ppn = physical >>> 12;
        return ppn >= 0 && ppn < codeMap.length && codeMap[(int) ppn] != 0;
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
        if (key < codeMap.length) { // a ROM page (the head of a block running on into RAM) has no entry
            CODE_MAP.setVolatile(codeMap, (int) key, (byte) 0);
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
            // Mark before decoding: a store racing with the decode then invalidates the new page (SDM Vol. 3A
            // 8.1.3: cross-modifying code needs the executing CPU to serialise anyway).
            CODE_MAP.setVolatile(codeMap, (int) (physical >>> 12), (byte) 1);
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
