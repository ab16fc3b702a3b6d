package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's OVMF (package {@code ovmf}, installed by {@code scripts/install-deps --test}) boots a machine with two
 * vCPUs (its MP initialisation starts the second one through INIT/SIPI) to the UEFI Shell on COM1; the shell
 * answers {@code ver}, and {@code reset -s} powers the machine off through the ACPI PM registers. The guest's
 * UEFI variables land in the VM's own store, not in the template.
 */
class UefiBootTest {
    static final Path OVMF_CODE = Path.of("/usr/share/OVMF/OVMF_CODE_4M.fd");
    static final Path OVMF_VARS = Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd");
    /** A hang guard: the software CPU takes 30–90 s on this kind of machine, QEMU TCG 3–7 s. */
    static final long WATCHDOG_SECONDS = 900;

    static void assertOvmfInstalled() {
        assertTrue(Files.isRegularFile(OVMF_CODE) && Files.isRegularFile(OVMF_VARS),
                "Debian's ovmf package is not installed (scripts/install-deps --test installs it)");
    }

    @Test
    void ovmfReachesTheUefiShellWhichAnswersAndPowersOff(@TempDir Path dir) throws Exception {
        assertOvmfInstalled();
        Path store = dir.resolve("uefi-vars.fd");
        MachineConfig cfg = MachineConfig.uefi("uefi-shell", 2, 256L << 20,
                new MachineConfig.Firmware(OVMF_CODE, OVMF_VARS, store), RebootPolicy.Stop, List.of());
        SerialDialog.Result r;
        try (Machine m = Machine.create(cfg)) {
            r = new SerialDialog()
                    .expect("to skip startup.nsh", "\u001b") // ESC: no 5-second countdown
                    .expect("Shell> ", "ver\r")
                    .expect("Shell> ", "reset -s\r")
                    .run(m, WATCHDOG_SECONDS);
        }
        String out = r.plain();
        System.out.println(out);
        assertEquals(3, r.stepsDone(), () -> r.stop().describe() + "; the dialog stopped; console:\n" + out);
        assertInstanceOf(GuestStop.PowerOff.class, r.stop(), r.stop().describe() + "\n" + out);
        assertTrue(out.contains("UEFI Interactive Shell v2"), out);
        // the shell ran the command: its answer follows the echoed command line
        String afterVer = out.substring(out.indexOf("Shell> ver"));
        assertTrue(afterVer.contains("UEFI v2.70 (EDK II"), afterVer);
        assertFalse(Arrays.equals(Files.readAllBytes(OVMF_VARS), Files.readAllBytes(store)),
                "the firmware's variables went to the VM's store");
    }
}
