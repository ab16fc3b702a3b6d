package dev.apiary.vmm.boot;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.MemoryLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Parses and loads a real distribution kernel when one is at hand: {@code $APIARY_TEST_KERNEL}, else a readable
 * {@code /boot/vmlinuz-*}. Skipped, with the reason printed, when there is none (the synthetic images in the
 * other tests cover every path; this one catches a wrong assumption about real headers).
 */
class RealKernelTest {
    private static Optional<Path> findKernel() {
        String env = System.getenv("APIARY_TEST_KERNEL");
        if (env != null && !env.isEmpty()) {
            return Optional.of(Path.of(env));
        }
        try (Stream<Path> s = Files.list(Path.of("/boot"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("vmlinuz-")).filter(Files::isReadable).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    @Test
    void loadsARealBzImage() throws Exception {
        Optional<Path> kernel = findKernel();
        if (kernel.isEmpty()) {
            System.out.println("RealKernelTest: no kernel ($APIARY_TEST_KERNEL unset, no readable /boot/vmlinuz-*); skipping");
            Assumptions.abort("no real kernel available");
        }
        BzImage k = BzImage.read(kernel.get());
        System.out.println("RealKernelTest: " + k + ": " + k.kernelVersion());
        assertTrue(k.protocolVersion() >= 0x020C, "a 64-bit kernel of this decade speaks 2.12+");
        assertTrue(k.has64BitEntry());
        assertTrue(k.relocatable());
        assertTrue(k.initSize() > k.protectedModeSize());

        MemoryLayout layout = MemoryLayout.forRam(256L << 20);
        GuestMemory mem = GuestMemory.allocate(0, layout.lowRamBytes());
        AcpiTables acpi = AcpiTables.build(new AcpiTables.Config(2, layout, Set.of(1), true));
        acpi.writeTo(mem);
        BootState s = LinuxLoader.load(mem, layout, E820Map.of(layout),
                LinuxLoader.Request.of(k, "console=ttyS0").withAcpiRsdp(acpi.rsdpAddress())
                        .withInitrd(Initrd.of("initrd", new byte[1 << 20])));
        assertEquals(0x100200, s.rip());
        byte[] file = Files.readAllBytes(kernel.get());
        byte[] hdr = new byte[k.setupHeaderEnd() - 0x1F1];
        mem.read(BootLayout.ZERO_PAGE + 0x1F1, hdr, 0, hdr.length);
        // The copied header equals the file's except for the fields the loader fills in.
        for (int off = 0x1F1; off < k.setupHeaderEnd(); off++) {
            boolean loaderField = (off >= 0x210 && off < 0x212) || (off >= 0x214 && off < 0x220)
                    || (off >= 0x224 && off < 0x22C);
            if (!loaderField) {
                assertEquals(file[off], hdr[off - 0x1F1], String.format("zero page byte 0x%x", off));
            }
        }
        byte[] head = new byte[4096];
        mem.read(0x100000, head, 0, head.length);
        assertArrayEquals(java.util.Arrays.copyOfRange(file, k.setupSize(), k.setupSize() + 4096), head);
    }
}
