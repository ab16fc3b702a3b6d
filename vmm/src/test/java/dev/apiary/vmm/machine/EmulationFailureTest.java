package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.accel.kvm.HostFacts;
import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.vmm.accel.kvm.Kvm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest whose kernel-mode code does x87 arithmetic: on a host whose KVM emulates kernel mode this stops
 * with an emulation failure that says so, with the instruction's address; on a hardware-backed KVM the
 * guest goes on and powers off.
 */
class EmulationFailureTest {
    /** At the 64-bit entry (0x100200): fninit; fld1; fwait; then ACPI S5 through PM1a_CNT; jmp $. */
    private static final byte[] CODE = {
        (byte) 0xDB, (byte) 0xE3, (byte) 0xD9, (byte) 0xE8, (byte) 0x9B,
        0x66, (byte) 0xBA, 0x04, (byte) 0xB0, 0x66, (byte) 0xB8, 0x00, 0x20, 0x66, (byte) 0xEF,
        (byte) 0xEB, (byte) 0xFE,
    };

    static byte[] bzImage(byte[] entry64) {
        int setup = 2 * 512;
        byte[] b = new byte[setup + 0x1000];
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        le.put(0x1F1, (byte) 1);                        // setup_sects
        le.putInt(0x1F4, 0x1000 / 16);                  // syssize
        le.putShort(0x1FE, (short) 0xAA55);             // boot_flag
        le.put(0x200, (byte) 0xEB).put(0x201, (byte) (0x268 - 0x202)); // jump over the header
        le.putInt(0x202, 0x53726448);                   // "HdrS"
        le.putShort(0x206, (short) 0x020F);             // protocol 2.15
        le.put(0x211, (byte) 1);                        // LOADED_HIGH
        le.putInt(0x214, 0x100000);                     // code32_start
        le.putInt(0x22C, 0x7FFFFFFF);                   // initrd_addr_max
        le.putInt(0x230, 0x200000);                     // kernel_alignment
        le.putShort(0x236, (short) 1);                  // XLF_KERNEL_64
        le.putInt(0x238, 255);                          // cmdline_size
        le.putLong(0x258, 0x100000);                    // pref_address
        le.putInt(0x260, 0x10000);                      // init_size
        System.arraycopy(entry64, 0, b, setup + 0x200, entry64.length);
        return b;
    }

    @Test
    void x87InKernelModeOnAnEmulatingHostIsExplained(@TempDir Path dir) throws Exception {
        String noKvm = Kvm.unavailableReason();
        Assumptions.assumeTrue(noKvm == null, noKvm);
        Path image = dir.resolve("x87.bzImage");
        Files.write(image, bzImage(CODE));
        MachineConfig cfg = new MachineConfig("x87", 1, 64L << 20, image, null, "", RebootPolicy.Stop);
        GuestStop stop;
        try (Machine m = Machine.create(cfg)) {
            stop = m.run();
        }
        System.out.println("x87 guest: " + stop.describe() + "; probe: " + HostFacts.probe().summary());
        if (HostFacts.hostEmulatesKernelMode()) {
            GuestStop.EmulationFailure f = assertInstanceOf(GuestStop.EmulationFailure.class, stop, stop.describe());
            assertTrue(f.rip() >= 0x100200 && f.rip() <= 0x100204, String.format("rip 0x%x", f.rip()));
            assertTrue(f.hostEmulatesKernelMode());
            int at = (int) (f.rip() - 0x100200);
            assertArrayEquals(java.util.Arrays.copyOfRange(CODE, at, at + 4), java.util.Arrays.copyOf(f.instruction(), 4),
                    "instruction bytes read from guest memory at the failing rip");
            assertTrue(f.describe().contains(String.format("rip 0x%x", f.rip())), f.describe());
            assertTrue(f.describe().contains("cannot run full guests"), f.describe());
        } else {
            assertInstanceOf(GuestStop.PowerOff.class, stop, stop.describe());
        }
    }
}
