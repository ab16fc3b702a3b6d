package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole UEFI chain on an NVMe disk: OVMF finds the ESP that {@code scripts/build-uefi-esp} builds from
 * Debian's GRUB, GRUB loads Debian's kernel and a busybox initramfs from it, Linux comes up as an EFI guest,
 * uses the VMM's ACPI tables (handed to OVMF through fw_cfg) without complaining, sees its NVMe disk and
 * powers off.
 */
class UefiLinuxBootTest {
    /** A hang guard, not a measurement: OVMF and then Linux on the software CPU, on a shared 2-core machine. */
    static final long WATCHDOG_SECONDS = 1500;

    private static List<String> run(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        List<String> out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertTrue(p.waitFor(600, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + " failed");
        return out;
    }

    @Test
    void ovmfBootsGrubFromAnNvmeEspIntoLinux(@TempDir Path dir) throws Exception {
        UefiBootTest.assertOvmfInstalled();
        List<String> guest = run(dir, GuestKit.ROOT.resolve("scripts/fetch-debian-guest").toString());
        Path kernel = Path.of(guest.get(0));
        Path busybox = Path.of(guest.get(1));
        Path modules = Path.of(guest.get(2));
        String init = """
                #!/bin/busybox sh
                /bin/busybox mkdir -p /proc /sys
                /bin/busybox mount -t proc proc /proc
                /bin/busybox mount -t sysfs sys /sys
                efi=no; [ -d /sys/firmware/efi ] && efi=yes
                echo "APIARY-LINUX up cpus=$(/bin/busybox nproc) efi=$efi"
                for m in $(/bin/busybox cat /lib/order); do /bin/busybox insmod /lib/$m.ko; done
                /bin/busybox sleep 2
                echo "APIARY-NVME $(/bin/busybox ls /sys/block | /bin/busybox grep nvme)"
                /bin/busybox poweroff -f
                """;
        Path initrd = dir.resolve("initrd.img");
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
        Path esp = dir.resolve("esp.img");
        run(dir, GuestKit.ROOT.resolve("scripts/build-uefi-esp").toString(), esp.toString(), kernel.toString(),
                initrd.toString(), "console=ttyS0 panic=-1 rdinit=/init");
        MachineConfig cfg = MachineConfig.uefi("uefi-linux", 1, 512L << 20,
                new MachineConfig.Firmware(UefiBootTest.OVMF_CODE, UefiBootTest.OVMF_VARS, dir.resolve("vars.fd")),
                RebootPolicy.Stop, List.of(new MachineConfig.Disk("esp", esp, false, "APYESPTEST0000000000")));
        SerialDialog.Result r;
        try (Machine m = Machine.create(cfg)) {
            r = new SerialDialog().expect("APIARY-NVME", "").run(m, WATCHDOG_SECONDS);
        }
        String out = r.plain();
        System.out.println(out);
        assertInstanceOf(GuestStop.PowerOff.class, r.stop(), r.stop().describe() + "\n" + out);
        assertTrue(out.contains("APIARY-GRUB: loading Linux"), "GRUB ran from the ESP");
        assertTrue(out.contains("APIARY-LINUX up cpus=1 efi=yes"), "Linux runs as an EFI guest");
        assertTrue(out.contains("APIARY-NVME nvme0n1"), "Linux sees the NVMe disk");
        // OVMF installed the VMM's tables (OEM ID APIARY), and Linux found nothing wrong with them.
        assertTrue(out.lines().anyMatch(l -> l.contains("ACPI: FACP") && l.contains("APIARY")), "our FADT");
        assertTrue(out.lines().anyMatch(l -> l.contains("ACPI: DSDT") && l.contains("APIARY")), "our DSDT");
        for (String bad : List.of("Firmware Bug", "ACPI Error", "ACPI BIOS Error", "invalid opcode")) {
            assertFalse(out.contains(bad), bad + " in the kernel log");
        }
    }
}
