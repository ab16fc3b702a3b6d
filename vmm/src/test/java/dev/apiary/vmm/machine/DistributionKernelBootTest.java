package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.accel.kvm.HostFacts;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's distribution kernel with a busybox initramfs (both from Debian packages, cached outside the
 * repository by scripts/fetch-debian-guest). Runs only where the capability probe says this host runs
 * kernel-mode guest code natively; elsewhere it is skipped with the probe's reason.
 */
public class DistributionKernelBootTest {
    @Test
    void debianKernelBringsUpEveryCpuSeesNvmeAndPowersOff(@TempDir Path dir) throws Exception {
        GuestKit.assumeKvm();
        var probe = HostFacts.probe();
        if (!probe.fullGuests()) {
            System.out.println("SKIP DistributionKernelBootTest: " + probe.reason());
        }
        Assumptions.assumeTrue(probe.fullGuests(), probe.reason());

        Process fetch = new ProcessBuilder(GuestKit.ROOT.resolve("scripts/fetch-debian-guest").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> paths = new String(fetch.getInputStream().readAllBytes()).lines().toList();
        assertTrue(fetch.waitFor(600, TimeUnit.SECONDS) && fetch.exitValue() == 0, "fetch-debian-guest failed");
        Path kernel = Path.of(paths.get(0));
        Path busybox = Path.of(paths.get(1));
        Path modules = Path.of(paths.get(2));
        Path disk = dir.resolve("disk.img");
        try (var f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(64L << 20);
        }

        String init = """
                #!/bin/busybox sh
                /bin/busybox mkdir -p /proc /sys
                /bin/busybox mount -t proc proc /proc
                /bin/busybox mount -t sysfs sys /sys
                echo "APIARY-LINUX cpus=$(/bin/busybox nproc) ioapic=$(/bin/busybox grep -c IO-APIC /proc/interrupts)"
                for m in $(/bin/busybox cat /lib/order); do /bin/busybox insmod /lib/$m.ko; done
                /bin/busybox sleep 2
                echo "APIARY-NVME size=$(/bin/busybox cat /sys/block/nvme0n1/size) hwqueues=$(/bin/busybox ls /sys/block/nvme0n1/mq | /bin/busybox wc -l)"
                /bin/busybox poweroff -f
                """;
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
        MachineConfig cfg = new MachineConfig("debian", 2, 512L << 20, kernel, initrd,
                "console=ttyS0 panic=-1 rdinit=/init", RebootPolicy.Stop,
                List.of(new MachineConfig.Disk("d0", disk, false, "APYDEBIANTEST0000000")));
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        GuestStop stop;
        try (Machine m = Machine.create(cfg)) {
            m.serialConsole().addListener((b, off, len) -> {
                synchronized (serial) {
                    serial.write(b, off, len);
                }
            });
            Thread watchdog = new Thread(() -> {
                try {
                    TimeUnit.SECONDS.sleep(120);
                    m.stop("timeout");
                } catch (InterruptedException e) {
                    // done
                }
            });
            watchdog.setDaemon(true);
            watchdog.start();
            stop = m.run();
            watchdog.interrupt();
        }
        String out = serial.toString(StandardCharsets.ISO_8859_1);
        System.out.println(out);
        assertInstanceOf(GuestStop.PowerOff.class, stop, stop.describe());
        assertTrue(out.contains("APIARY-LINUX cpus=2"), "every vCPU came up");
        assertFalse(out.contains("ioapic=0"), "interrupts routed through the IOAPIC");
        // Linux's nvme driver sees the disk, with one hardware queue per vCPU.
        assertTrue(out.contains("APIARY-NVME size=131072 hwqueues=2"), "nvme0n1 with 2 hardware queues");
    }

    /** A cpio "newc" archive writer, enough for an initramfs. */
    public static final class Cpio {
        private final java.io.OutputStream out;
        private int ino = 1;
        private long written;

        public Cpio(java.io.OutputStream out) {
            this.out = out;
        }

        public void dir(String name) throws java.io.IOException {
            entry(name, 040755, new byte[0], 0, 0);
        }

        public void charDevice(String name, int major, int minor) throws java.io.IOException {
            entry(name, 020600, new byte[0], major, minor);
        }

        public void file(String name, byte[] data, int perm) throws java.io.IOException {
            entry(name, 0100000 | perm, data, 0, 0);
        }

        public void trailer() throws java.io.IOException {
            entry("TRAILER!!!", 0, new byte[0], 0, 0);
        }

        private void entry(String name, int mode, byte[] data, int rmajor, int rminor) throws java.io.IOException {
            byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
            String h = String.format("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
                    name.equals("TRAILER!!!") ? 0 : ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rmajor, rminor, n.length, 0);
            write(h.getBytes(StandardCharsets.US_ASCII));
            write(n);
            pad();
            write(data);
            pad();
        }

        private void write(byte[] b) throws java.io.IOException {
            out.write(b);
            written += b.length;
        }

        private void pad() throws java.io.IOException {
            while (written % 4 != 0) {
                write(new byte[1]);
            }
        }
    }
}
