package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.bus.Bus;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile guest's view of the whole machine: random reads and writes of every size to every port and
 * MMIO window a device claims (and around them), with NVMe controllers enabled on random guest memory.
 * Nothing may throw out of a device, and every access returns (the random seed is printed on failure and
 * can be replayed with -Dfuzz.seed=N).
 */
class HostileBusFuzzTest {
    @TempDir
    Path dir;

    @OnEveryAccelerator
    void randomAccessesToEveryDeviceNeverThrow(Accelerator accel) throws Exception {
        Path img = dir.resolve("d.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        MachineConfig cfg = new MachineConfig("fuzz", 2, 64L << 20, GuestKit.IMAGE, null, "", RebootPolicy.Stop,
                List.of(new MachineConfig.Disk("d0", img, false, "FUZZ"))).withAccelerator(accel);
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        Random rnd = new Random(seed);
        int[] sizes = {1, 2, 4, 8};
        try (Machine m = Machine.create(cfg)) {
            Bus ports = m.ports();
            Bus mmio = m.mmio();
            // Map the NVMe BARs as firmware would, so MMIO reaches the controller.
            ports.write(0xCF8, 4, 0x8000_1810L); // 00:03.0 BAR0
            ports.write(0xCFC, 4, 0xC000_0000L);
            ports.write(0xCF8, 4, 0x8000_1820L); // BAR4
            ports.write(0xCFC, 4, 0xC010_0000L);
            ports.write(0xCF8, 4, 0x8000_1804L); // COMMAND: memory + bus master
            ports.write(0xCFC, 2, 0x6);
            assertTrue(mmio.find(0xC000_0000L).isPresent() && mmio.find(0xC010_0000L).isPresent(),
                    "NVMe BAR0 and the MSI-X BAR are mapped: " + mmio.mappings());
            assertTrue(ports.mappings().size() >= 12, "every legacy device is on the port bus: " + ports.mappings());
            for (int i = 0; i < 200_000; i++) {
                int size = sizes[rnd.nextInt(4)];
                long value = rnd.nextLong();
                try {
                    if (rnd.nextBoolean()) {
                        List<Bus.Mapping> ms = ports.mappings();
                        Bus.Mapping w = ms.get(rnd.nextInt(ms.size()));
                        long port = w.base() + rnd.nextInt((int) Math.max(1, w.length() + 2)) - 1;
                        if (port == 0xCF9 || port == 0x64 || port == 0x92 || port == 0xB004) {
                            continue; // reset and power-off requests only end the run; exercised elsewhere
                        }
                        if (rnd.nextBoolean()) {
                            ports.read(port, Math.min(size, 4));
                        } else {
                            ports.write(port, Math.min(size, 4), value);
                        }
                    } else {
                        List<Bus.Mapping> ms = mmio.mappings();
                        if (ms.isEmpty()) {
                            continue;
                        }
                        Bus.Mapping w = ms.get(rnd.nextInt(ms.size()));
                        long addr = w.base() + (rnd.nextInt((int) Math.min(w.length(), 0x4000)) & ~(size - 1));
                        if (rnd.nextBoolean()) {
                            mmio.read(addr, size);
                        } else {
                            // Bias NVMe register writes towards enabling the controller with random queues.
                            mmio.write(addr, size, rnd.nextInt(8) == 0 ? 1 : value);
                        }
                    }
                } catch (RuntimeException e) {
                    fail("access " + i + " threw (seed " + seed + ")", e);
                }
            }
        }
    }
}
