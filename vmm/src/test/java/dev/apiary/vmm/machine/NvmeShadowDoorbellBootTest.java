package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest kit's shadow doorbells (Doorbell Buffer Config + EventIdx, as Linux does them) against Apiary's
 * NVMe controller on KVM: the I/O queue doorbells become KVM ioeventfds, every tail/head update goes through
 * the shadow buffer, the guest skips the real doorbell when EventIdx says the device does not need it, and
 * nothing is lost on the way. {@code kit.nvme.dbbuf=no} keeps the plain doorbells.
 */
class NvmeShadowDoorbellBootTest {
    private static final long MiB = 1L << 20;
    private static final int LBA = 512;
    private static final int CPUS = 2;

    @TempDir
    Path dir;


    /** A boot with what GuestKit.boot records, plus the names of the VMM's ioeventfd waiter threads, taken
     *  while the guest runs its per-CPU I/O (the controller's registrations end with the machine). */
    record Boot(GuestKit.Run run, Set<String> ioeventfdThreads) {}

    private Boot boot(Accelerator accel, String cmdline, Path img) throws Exception {
        MachineConfig cfg = new MachineConfig("dbbuf", CPUS, 256 * MiB, GuestKit.IMAGE, null, cmdline,
                RebootPolicy.Stop, List.of(new MachineConfig.Disk("d0", img, false, "APYDBBUF"))).withAccelerator(accel);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Set<String> threads = new TreeSet<>();
        boolean[] sampled = {false};
        try (Machine m = Machine.create(cfg)) {
            m.serialConsole().addListener((b, off, len) -> {
                boolean sample;
                synchronized (out) {
                    out.write(b, off, len);
                    sample = !sampled[0] && out.toString(StandardCharsets.ISO_8859_1).contains("KIT nvme-io ");
                    sampled[0] |= sample;
                }
                if (sample) {
                    for (Thread t : Thread.getAllStackTraces().keySet()) {
                        if (t.getName().startsWith("ioeventfd-")) {
                            synchronized (threads) {
                                threads.add(t.getName());
                            }
                        }
                    }
                }
            });
            Thread watchdog = new Thread(() -> {
                try {
                    TimeUnit.SECONDS.sleep(180);
                    m.stop("test timeout after 180 s");
                } catch (InterruptedException e) {
                    // finished in time
                }
            });
            watchdog.setDaemon(true);
            watchdog.start();
            GuestStop stop = m.run();
            watchdog.interrupt();
            String text;
            synchronized (out) {
                text = out.toString(StandardCharsets.ISO_8859_1).replace("\r", "");
            }
            System.out.println("--- \"" + cmdline + "\" → " + stop.describe() + "\n" + text);
            synchronized (threads) {
                return new Boot(new GuestKit.Run(stop, text, m.boots()), Set.copyOf(threads));
            }
        }
    }

    private Path image() throws Exception {
        Path p = dir.resolve("d0.img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(64 * MiB);
        }
        return p;
    }

    private static long num(String marker, String key) {
        return Long.parseLong(GuestKit.Run.field(marker, key));
    }

    /** Markers and data both modes must produce: I/O from every vCPU with interrupts, the write in the image. */
    private static void commonChecks(GuestKit.Run r, Path img) throws Exception {
        assertInstanceOf(GuestStop.PowerOff.class, r.stop(), r.stop().describe());
        assertTrue(r.output().lines().noneMatch(l -> l.startsWith("KIT ") && l.contains(" fail ")), r.output());
        List<String> io = r.markers("nvme-io");
        assertEquals(CPUS, io.size(), io.toString());
        for (String l : io) {
            assertTrue(l.startsWith("KIT nvme-io ok"), l);
            assertTrue(num(l, "irqs") > 0, "interrupt-driven completions: " + l);
        }
        r.ok("nvme-write");
        r.ok("nvme-flush");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            for (int i = 0; i < 8; i++) {
                byte[] b = new byte[LBA];
                f.seek((100L + i) * LBA);
                f.readFully(b);
                assertArrayEquals(NvmeBootTest.pattern(100 + i), b, "LBA " + (100 + i));
            }
        }
        assertEquals("0", GuestKit.Run.field(r.marker("nvme-hostile-summary").orElseThrow(), "failed"), r.output());
    }

    private static String benchLine(GuestKit.Run r) {
        String bench = r.marker("nvme-bench").orElseThrow(() -> new AssertionError("no bench line:\n" + r.output()));
        assertTrue(bench.startsWith("KIT nvme-bench randread32 ok "), bench);
        return bench;
    }

    private static final String CMDLINE = "kit.tests=nvme,nvme-bench kit.nvme.write=100,8 kit.nvme.bench=randread32 "
            + "kit.nvme.bench_secs=1 kit.exit=poweroff";

    @OnEveryAccelerator
    void shadowDoorbellsWithEventIdxSkipMostRealDoorbellWrites(Accelerator accel) throws Exception {
        Path img = image();
        Boot b = boot(accel, CMDLINE, img);
        GuestKit.Run r = b.run();
        commonChecks(r, img);

        long oacs = Long.decode(GuestKit.Run.field(r.ok("nvme-ctrl"), "oacs"));
        assertTrue((oacs & (1 << 8)) != 0, "Apiary offers Doorbell Buffer Config: oacs=" + oacs);
        assertEquals("on", GuestKit.Run.field(r.ok("nvme-queues"), "dbbuf"));

        // Synchronous QD1 I/O: every SQ tail and CQ head update goes to the shadow (2 per command); an idle
        // device asks (EventIdx) for every one of them, so the real doorbell rings at most that often.
        for (String l : r.markers("nvme-io")) {
            long cmds = num(l, "writes") + num(l, "reads");
            assertEquals(2 * cmds, num(l, "shadow"), l);
            assertTrue(num(l, "rings") > 0 && num(l, "rings") <= 2 * cmds, l);
        }

        // Every I/O queue doorbell (SQ tail 0x1000 + 8·qid, CQ head + 4) is a KVM ioeventfd, no admin one.
        long bar0 = Long.decode(GuestKit.Run.field(r.ok("nvme-ctrl"), "bar0"));
        Set<String> want = new TreeSet<>();
        for (int qid = 1; qid <= CPUS; qid++) {
            want.add(String.format("ioeventfd-0x%x", bar0 + 0x1000 + 8L * qid));
            want.add(String.format("ioeventfd-0x%x", bar0 + 0x1000 + 8L * qid + 4));
        }
        // On the software CPU a doorbell write costs no exit: there are no ioeventfds, the device takes the
        // write through its MMIO handler.
        assertEquals(accel == Accelerator.KVM ? want : Set.of(), b.ioeventfdThreads(),
                "ioeventfd waiters while the guest ran its I/O");

        // The burst: a large read keeps the device busy while 15 small reads are published one by one in the
        // shadow tail. EventIdx still lies before them, so the guest does not ring for them, and the device
        // picks them up from the shadow: 16 updates, one real doorbell write (a few at most), all complete.
        String burst = r.ok("nvme-burst");
        assertEquals("on", GuestKit.Run.field(burst, "dbbuf"));
        assertEquals(16, num(burst, "cmds"), burst);
        assertEquals(16, num(burst, "shadow"), burst);
        // How many rings EventIdx saves depends on the device still being busy with the large read while the
        // guest publishes the small ones: true on KVM; on the software CPU the guest runs far slower than the
        // device thread, which often catches up (and moves EventIdx) between two updates. Either way no update
        // may ring more than once, and every command completes through the shadow.
        long maxRings = accel == Accelerator.KVM ? 4 : 16;
        assertTrue(num(burst, "rings") >= 1 && num(burst, "rings") <= maxRings, "EventIdx skips the doorbell: " + burst);

        // QD32, polled: every update through the shadow, a real doorbell write only for some of them.
        String bench = benchLine(r);
        assertEquals("on", GuestKit.Run.field(bench, "dbbuf"));
        long cmds = num(bench, "cmds"), shadow = num(bench, "shadow"), rings = num(bench, "rings");
        assertTrue(cmds > 1000 && shadow > 0 && rings <= shadow, bench);
    }

    @OnEveryAccelerator
    void plainDoorbellsWhenTheCommandLineSaysNo(Accelerator accel) throws Exception {
        Path img = image();
        Boot b = boot(accel, CMDLINE + " kit.nvme.dbbuf=no", img);
        GuestKit.Run r = b.run();
        commonChecks(r, img);

        assertEquals("off", GuestKit.Run.field(r.ok("nvme-queues"), "dbbuf"));
        // Synchronous I/O: exactly one SQ tail and one CQ head doorbell write per command, no shadow.
        for (String l : r.markers("nvme-io")) {
            long cmds = num(l, "writes") + num(l, "reads");
            assertEquals(0, num(l, "shadow"), l);
            assertEquals(2 * cmds, num(l, "rings"), l);
        }
        assertEquals(Set.of(), b.ioeventfdThreads(), "no shadow doorbells, no ioeventfds");
        assertEquals("cmds=16 rings=16 shadow=0 dbbuf=off ctrl=0", r.ok("nvme-burst"));
        String bench = benchLine(r);
        assertEquals("off", GuestKit.Run.field(bench, "dbbuf"));
        assertEquals("0", GuestKit.Run.field(bench, "shadow"));
        assertTrue(num(bench, "rings") > 0, bench);
    }
}
