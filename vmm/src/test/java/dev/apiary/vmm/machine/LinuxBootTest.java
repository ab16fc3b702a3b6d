package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's distribution kernel (linux-image-amd64, through the 64-bit boot protocol entry) with a busybox-static
 * initramfs, both from Debian packages and cached outside the repository by {@code scripts/fetch-debian-guest},
 * on every accelerator this host has. The guest brings up every vCPU, loads the NVMe driver, writes a pattern
 * to the disk, syncs it, drops its caches and reads it back; with {@code apiary.reboot} it reboots with
 * {@code reboot -f} and finds the pattern again on the second boot before {@code poweroff -f}.
 *
 * <p>The kernel's own log is the oracle for the machine model: any firmware bug, ACPI error, APIC or IRQ
 * complaint, invalid opcode, warning or oops it prints fails the test ({@link #PROBLEMS}).
 */
class LinuxBootTest {
    /** What the kernel says when our machine model is wrong (lines matching any of these fail a boot). */
    static final List<Pattern> PROBLEMS = List.of(
            Pattern.compile("Firmware Bug|FW_BUG|\\[Firmware (Warn|Info)\\]"),
            Pattern.compile("ACPI (BIOS )?(Error|Warning)"),
            Pattern.compile("invalid opcode|general protection|BUG:|Oops|WARNING:|Call Trace"),
            Pattern.compile("(?i)(APIC|IRQ|irq|vector).*(error|fail|bogus|broken|not connected|nobody cared|spurious|mismatch|no handler)"),
            Pattern.compile("No irq handler|unexpected IRQ|lost interrupt|timed out|timeout"),
            Pattern.compile("(?i)unchecked MSR access|unknown vendor|system may be unstable"),
            Pattern.compile("nvme.*(I/O .* timeout|controller is down|failed|error)"));

    /** The pattern written to the disk: `seq 1 200000 | head -c 1048576`, as the guest makes it. */
    static byte[] pattern() {
        StringBuilder b = new StringBuilder();
        for (int i = 1; b.length() < 1 << 20; i++) {
            b.append(i).append('\n');
        }
        return b.substring(0, 1 << 20).getBytes(StandardCharsets.US_ASCII);
    }

    private static final String INIT = """
            #!/bin/busybox sh
            B=/bin/busybox
            $B mkdir -p /proc /sys /dev /tmp
            $B mount -t proc proc /proc
            $B mount -t sysfs sys /sys
            $B mount -t devtmpfs dev /dev
            echo "APIARY-LINUX cpus=$($B nproc) tsc=$($B grep -o 'constant_tsc\\|nonstop_tsc' /proc/cpuinfo | $B sort -u | $B tr '\\n' ,) online=$($B cat /sys/devices/system/cpu/online) ioapic=$($B grep -c IO-APIC /proc/interrupts) clocksource=$($B cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
            for m in $($B cat /lib/order); do $B insmod /lib/$m.ko || echo "APIARY-FAIL insmod $m"; done
            i=0
            while [ ! -b /dev/nvme0n1 ] && [ $i -lt 300 ]; do $B usleep 100000; i=$((i+1)); done
            echo "APIARY-NVME size=$($B cat /sys/block/nvme0n1/size) hwqueues=$($B ls /sys/block/nvme0n1/mq | $B wc -l) msix=$($B cat /sys/class/nvme/nvme0/device/msi_irqs/* | $B grep -c msix)"
            if [ "$($B dd if=/dev/nvme0n1 bs=512 skip=100 count=1 2>/dev/null | $B head -c 12)" = APIARY-BOOT1 ]; then
              echo "APIARY-SECOND-BOOT $($B dd if=/dev/nvme0n1 bs=4096 skip=1000 count=256 2>/dev/null | $B md5sum)"
              $B poweroff -f
            fi
            $B seq 1 200000 | $B head -c 1048576 > /tmp/p
            $B dd if=/tmp/p of=/dev/nvme0n1 bs=4096 seek=1000 conv=fsync 2>/dev/null || echo "APIARY-FAIL write"
            $B sync
            echo 3 > /proc/sys/vm/drop_caches
            echo "APIARY-READBACK $($B dd if=/dev/nvme0n1 bs=4096 skip=1000 count=256 2>/dev/null | $B md5sum)"
            if $B grep -q apiary.reboot /proc/cmdline; then
              $B printf APIARY-BOOT1 | $B dd of=/dev/nvme0n1 bs=512 seek=100 conv=fsync 2>/dev/null
              $B reboot -f
            fi
            $B poweroff -f
            """;

    /** The kernel, busybox and the NVMe modules from Debian (fetched once into the cache). */
    record DebianGuest(Path kernel, Path busybox, Path modules) {
        static DebianGuest fetch() throws Exception {
            Process fetch = new ProcessBuilder(GuestKit.ROOT.resolve("scripts/fetch-debian-guest").toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            List<String> paths = new String(fetch.getInputStream().readAllBytes()).lines().toList();
            assertTrue(fetch.waitFor(600, TimeUnit.SECONDS) && fetch.exitValue() == 0, "scripts/fetch-debian-guest failed");
            return new DebianGuest(Path.of(paths.get(0)), Path.of(paths.get(1)), Path.of(paths.get(2)));
        }

        /** An initramfs with busybox, the modules (in load order, listed in /lib/order) and {@code init}. */
        Path initramfs(Path dir, String init) throws IOException {
            Path initrd = dir.resolve("initrd.cpio");
            try (var out = Files.newOutputStream(initrd)) {
                Cpio c = new Cpio(out);
                c.dir("bin");
                c.dir("dev");
                c.dir("lib");
                c.file("lib/order", Files.readAllBytes(modules.resolve("order")), 0644);
                for (String m : Files.readAllLines(modules.resolve("order"))) {
                    c.file("lib/" + m + ".ko", Files.readAllBytes(modules.resolve(m + ".ko")), 0644);
                }
                c.charDevice("dev/console", 5, 1);
                c.file("bin/busybox", Files.readAllBytes(busybox), 0755);
                c.file("init", init.getBytes(StandardCharsets.US_ASCII), 0755);
                c.trailer();
            }
            return initrd;
        }
    }

    /** The lines of a kernel log that match {@link #PROBLEMS}. */
    static List<String> problems(String log) {
        return log.lines().filter(l -> PROBLEMS.stream().anyMatch(p -> p.matcher(l).find())).toList();
    }

    private static GuestKit.Run boot(Accelerator accel, int cpus, boolean reboot, Path dir) throws Exception {
        DebianGuest guest = DebianGuest.fetch();
        Path disk = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        MachineConfig cfg = new MachineConfig("debian", cpus, 512L << 20, guest.kernel(), guest.initramfs(dir, INIT),
                "console=ttyS0 panic=-1 rdinit=/init" + (reboot ? " apiary.reboot" : ""), RebootPolicy.Reboot,
                List.of(new MachineConfig.Disk("d0", disk, false, "APYDEBIANTEST0000000"))).withAccelerator(accel);
        // a hang guard only: a boot takes well under a minute on a quiet host
        GuestKit.Run r = GuestKit.boot(cfg, 900);
        assertInstanceOf(GuestStop.PowerOff.class, r.stop(), r.stop().describe());
        assertEquals(List.of(), problems(r.output()), "the kernel complained about the machine");
        String linux = r.output().lines().filter(l -> l.startsWith("APIARY-LINUX ")).findFirst()
                .orElseThrow(() -> new AssertionError("the initramfs did not run"));
        assertEquals(String.valueOf(cpus), GuestKit.Run.field(linux, "cpus"), "every vCPU came up: " + linux);
        assertEquals(cpus == 1 ? "0" : "0-" + (cpus - 1), GuestKit.Run.field(linux, "online"), linux);
        // the TSC is trusted: constant rate, not stopping, synchronised across vCPUs
        assertEquals("constant_tsc,nonstop_tsc,", GuestKit.Run.field(linux, "tsc"), linux);
        assertTrue(Integer.parseInt(GuestKit.Run.field(linux, "ioapic")) > 0, "interrupts routed through the IOAPIC: " + linux);
        assertTrue(!r.output().contains("APIARY-FAIL"), "every step of the guest's script worked");
        // Linux's nvme driver sees the disk, with one MSI-X-driven hardware queue per vCPU
        assertTrue(r.output().contains("APIARY-NVME size=131072 hwqueues=" + cpus + " msix=" + (cpus + 1)),
                "nvme0n1 with " + cpus + " hardware queues on MSI-X (and the admin queue)");
        // the 8042 found through the DSDT's PNP0303/PNP0F13, and its keyboard answering atkbd's probe
        assertTrue(r.output().contains("serio: i8042 KBD port at 0x60,0x64 irq 1"), "i8042 keyboard port");
        assertTrue(r.output().contains("serio: i8042 AUX port at 0x60,0x64 irq 12"), "i8042 mouse port");
        assertTrue(r.output().contains("input: AT Translated Set 2 keyboard"), "PS/2 keyboard");
        String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(pattern()));
        assertTrue(r.output().contains("APIARY-READBACK " + md5), "the pattern read back after drop_caches");
        byte[] onDisk = new byte[1 << 20];
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "r")) {
            f.seek(1000L * 4096);
            f.readFully(onDisk);
        }
        assertArrayEquals(pattern(), onDisk, "the pattern is in the image file");
        return r;
    }

    @OnEveryAccelerator
    void debianKernelOnOneCpuWritesAndReadsItsDiskAndPowersOff(Accelerator accel, @TempDir Path dir) throws Exception {
        GuestKit.Run r = boot(accel, 1, false, dir);
        assertEquals(1, r.boots());
    }

    @OnEveryAccelerator
    void debianKernelOnTwoCpusRebootsAndFindsItsDataAgain(Accelerator accel, @TempDir Path dir) throws Exception {
        GuestKit.Run r = boot(accel, 2, true, dir);
        assertEquals(2, r.boots(), "reboot -f booted the kernel again");
        assertEquals(2, r.output().lines().filter(l -> l.contains("Linux version")).count());
        String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(pattern()));
        assertTrue(r.output().contains("APIARY-SECOND-BOOT " + md5), "the second boot read the pattern written before the reboot");
    }
}
