package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guest kit's NVMe driver against Apiary's NVMe controllers on KVM: the guest's view is the oracle. */
class NvmeBootTest {
    private static final long MiB = 1L << 20;
    private static final int LBA = 512;

    @TempDir
    Path dir;


    /** What the kit writes to LBA {@code lba}: "APIARY-KIT-LBA-%08x" repeated (docs/guestkit.md). */
    static byte[] pattern(long lba) {
        byte[] s = String.format("APIARY-KIT-LBA-%08x", lba).getBytes(StandardCharsets.US_ASCII);
        byte[] b = new byte[LBA];
        for (int i = 0; i < LBA; i++) {
            b[i] = s[i % s.length];
        }
        return b;
    }

    private Path image(String name, long bytes) throws Exception {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    private static byte[] readLbas(Path img, long lba, int count) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            byte[] b = new byte[count * LBA];
            f.seek(lba * LBA);
            f.readFully(b);
            return b;
        }
    }

    private GuestKit.Run boot(Accelerator accel, int cpus, String cmdline, Path... disks) throws Exception {
        List<MachineConfig.Disk> ds = new java.util.ArrayList<>();
        for (int i = 0; i < disks.length; i++) {
            ds.add(new MachineConfig.Disk("d" + i, disks[i], false, String.format("APYTESTSERIAL%07d", i)));
        }
        MachineConfig cfg = new MachineConfig("nvme", cpus, 256 * MiB, GuestKit.IMAGE, null, cmdline,
                RebootPolicy.Stop, ds).withAccelerator(accel);
        return GuestKit.boot(cfg, 240);
    }

    @OnEveryAccelerator
    void guestDrivesTheControllerFromEveryVcpuWithInterrupts(Accelerator accel) throws Exception {
        Path img = image("d0.img", 64 * MiB);
        // Data the guest must read back: the test writes it before boot.
        byte[] seeded = new byte[8 * LBA];
        for (int i = 0; i < seeded.length; i++) {
            seeded[i] = (byte) (i * 7 + 3);
        }
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(300L * LBA);
            f.write(seeded);
            f.seek(200L * LBA);
            f.write(new byte[8 * LBA]); // allocated blocks the guest then deallocates
            byte[] ones = new byte[8 * LBA];
            java.util.Arrays.fill(ones, (byte) 0x5A);
            f.seek(200L * LBA);
            f.write(ones);
        }
        int cpus = 4;
        GuestKit.Run r = boot(accel, cpus, "kit.tests=nvme kit.nvme.write=100,8 kit.nvme.read=300,8 kit.nvme.trim=200,8 "
                + "kit.exit=poweroff", img);
        assertInstanceOf(GuestStop.PowerOff.class, r.stop(), r.stop().describe());

        String ctrl = r.ok("nvme-ctrl");
        assertEquals("16384", GuestKit.Run.field(ctrl, "bar0_size"), "BAR0 is at least 16 KiB (MLBAR bits 13:4)");
        assertEquals("\"APYTESTSERIAL0000000\"", GuestKit.Run.field(ctrl, "serial"));
        assertEquals("\"Apiary", GuestKit.Run.field(ctrl, "model"));
        assertEquals("4", GuestKit.Run.field(ctrl, "msix_bar"), "MSI-X table in BAR4");
        String ns = r.ok("nvme-ns");
        assertEquals(String.valueOf(64 * MiB / LBA), GuestKit.Run.field(ns, "lbas"));
        assertEquals("512", GuestKit.Run.field(ns, "lba_size"));

        // One I/O queue pair per vCPU, each with its own MSI-X vector, and I/O from every vCPU.
        String queues = r.ok("nvme-queues");
        assertEquals(String.valueOf(cpus), GuestKit.Run.field(queues, "pairs"));
        assertEquals(String.valueOf(cpus + 1), GuestKit.Run.field(queues, "vectors"));
        List<String> io = r.markers("nvme-io");
        assertEquals(cpus, io.size(), io.toString());
        for (String l : io) {
            assertTrue(l.startsWith("KIT nvme-io ok"), l);
            assertTrue(Integer.parseInt(GuestKit.Run.field(l, "irqs")) > 0, "interrupt-driven completions: " + l);
        }

        // The guest's write (and flush) is in the image file.
        r.ok("nvme-write");
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(pattern(100 + i), readLbas(img, 100 + i, 1), "LBA " + (100 + i));
        }
        // The guest read what the test wrote.
        CRC32 crc = new CRC32();
        crc.update(seeded);
        assertEquals(String.format("0x%08x", crc.getValue()), GuestKit.Run.field(r.ok("nvme-read"), "crc32"));
        // Deallocated blocks read as zeros, in the guest and in the file.
        assertEquals("yes", GuestKit.Run.field(r.ok("nvme-trim"), "zeros"));
        assertArrayEquals(new byte[8 * LBA], readLbas(img, 200, 8));
        r.ok("nvme-flush");

        // Hostile commands: every one got the status the specification names.
        List<String> hostile = r.markers("nvme-hostile");
        assertTrue(hostile.stream().noneMatch(l -> l.startsWith("KIT nvme-hostile fail")), hostile.toString());
        assertTrue(hostile.stream().anyMatch(l -> l.equals("KIT nvme-hostile ok prp-mmio sct=0 sc=0x04 ctrl=0")), hostile.toString());
        assertTrue(hostile.stream().anyMatch(l -> l.equals("KIT nvme-hostile ok prp-above-ram sct=0 sc=0x04 ctrl=0")));
        assertTrue(hostile.stream().anyMatch(l -> l.equals("KIT nvme-hostile ok lba-range sct=0 sc=0x80 ctrl=0")));
        assertTrue(hostile.stream().anyMatch(l -> l.startsWith("KIT nvme-hostile ok prp-loop ")));
        assertEquals("0", GuestKit.Run.field(r.marker("nvme-hostile-summary").orElseThrow(), "failed"));
    }

    @OnEveryAccelerator
    void secondDiskIsASecondController(Accelerator accel) throws Exception {
        GuestKit.Run r = boot(accel, 1, "kit.tests=nvme kit.nvme.hostile=no kit.exit=poweroff",
                image("a.img", 16 * MiB), image("b.img", 32 * MiB));
        List<String> ctrls = r.markers("nvme-ctrl");
        assertEquals(2, ctrls.size(), r.output());
        assertTrue(ctrls.get(0).contains("bdf=00:03.0") && ctrls.get(0).contains("ctrl=0"), ctrls.get(0));
        assertTrue(ctrls.get(1).contains("bdf=00:04.0") && ctrls.get(1).contains("ctrl=1"), ctrls.get(1));
        List<String> nss = r.markers("nvme-ns");
        assertTrue(nss.contains("KIT nvme-ns ok nsid=1 lbas=32768 lba_size=512 dlfeat=0x9 ctrl=0"), nss.toString());
        assertTrue(nss.contains("KIT nvme-ns ok nsid=1 lbas=65536 lba_size=512 dlfeat=0x9 ctrl=1"), nss.toString());
    }

    @OnEveryAccelerator
    void fourKibibyteBlocksWhenTheManifestAsks(Accelerator accel) throws Exception {
        MachineConfig cfg = new MachineConfig("nvme4k", 1, 128 * MiB, GuestKit.IMAGE, null,
                "kit.tests=nvme kit.nvme.hostile=no kit.exit=poweroff", RebootPolicy.Stop,
                List.of(new MachineConfig.Disk("d0", image("4k.img", 16 * MiB), false, "APY4K", 4096)))
                .withAccelerator(accel);
        GuestKit.Run r = GuestKit.boot(cfg, 180);
        assertEquals("KIT nvme-ns ok nsid=1 lbas=4096 lba_size=4096 dlfeat=0x9 ctrl=0", r.marker("nvme-ns").orElseThrow());
        assertTrue(r.markers("nvme-io").stream().allMatch(l -> l.startsWith("KIT nvme-io ok")), r.output());
    }

    @OnEveryAccelerator
    void flushedWritesSurviveKill9OfTheVmm(Accelerator accel) throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        Files.copy(GuestKit.IMAGE, images.resolve("kit.bzImage"));
        Path img = image("images/disk.img", 16 * MiB);
        Path rt = Files.createDirectories(dir.resolve("rt"));
        Files.writeString(rt.resolve("spec.json"), """
                {"kind":"VirtualMachine","metadata":{"name":"k9","namespace":"t"},
                 "spec":{"accelerator":"%s","cpus":1,"memory":"128Mi","disks":[{"name":"d0","bus":"nvme","image":{"path":"disk.img"}}],
                 "boot":{"kernel":{"path":"kit.bzImage",
                   "cmdline":"kit.tests=nvme kit.nvme.hostile=no kit.nvme.write=1000,64 kit.exit=halt"}}}}""".formatted(accel));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process vmm = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                dev.apiary.vmm.cli.Main.class.getName(), "launch", "--runtime-dir", rt.toString(),
                "--image-root", images.toString())
                .redirectOutput(rt.resolve("vmm.log").toFile()).redirectErrorStream(true).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            Path log = rt.resolve("serial.log");
            while (!(Files.exists(log) && Files.readString(log).contains("KIT nvme-write ok"))) {
                assertTrue(vmm.isAlive(), "VMM exited: " + Files.readString(rt.resolve("vmm.log")));
                assertTrue(System.nanoTime() < deadline, "no nvme-write marker");
                Thread.sleep(50);
            }
        } finally {
            vmm.destroyForcibly(); // SIGKILL: no shutdown hook, no close, no fsync by the VMM
            vmm.waitFor();
        }
        assertEquals(137, vmm.exitValue());
        for (int i = 0; i < 64; i++) {
            assertArrayEquals(pattern(1000 + i), readLbas(img, 1000 + i, 1), "LBA " + (1000 + i) + " after kill -9");
        }
    }
}
