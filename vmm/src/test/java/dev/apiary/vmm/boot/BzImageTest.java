package dev.apiary.vmm.boot;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BzImageTest {
    @Test
    void parsesTheSetupHeader() throws Exception {
        BzImage k = TestImages.bz().parse();
        assertEquals(0x020F, k.protocolVersion());
        assertEquals(5 * 512, k.setupSize());
        assertEquals(64 * 1024, k.protectedModeSize());
        assertTrue(k.has64BitEntry());
        assertTrue(k.relocatable());
        assertEquals(0x20_0000, k.kernelAlignment());
        assertEquals(0x100_0000, k.prefAddress());
        assertEquals(0x200_0000, k.initSize());
        assertEquals(2047, k.cmdlineSize());
        assertEquals(0x7FFF_FFFFL, k.initrdAddrMax());
        assertEquals(0x10_0000, k.code32Start());
        assertEquals(0x26C, k.setupHeaderEnd());
        assertEquals(0x26C - 0x1F1, k.setupHeader().length);
        assertEquals("6.1.0-test (apiary@test) #1 SMP", k.kernelVersion());
        byte[] pm = k.protectedModeCode();
        assertEquals((byte) 3, pm[0]);
        assertEquals((byte) 10, pm[1]);
        assertTrue(k.toString().contains("2.15"), k.toString());
    }

    @Test
    void setupSectsZeroMeansFour() throws Exception {
        TestImages t = TestImages.bz();
        t.setupSects = 0;
        assertEquals(5 * 512, t.parse().setupSize());
    }

    @Test
    void oldProtocolsHaveNoXloadflagsAndNoPrefAddress() throws Exception {
        BzImage k = TestImages.bz().version(0x0206).parse();
        assertEquals(0, k.xloadflags());
        assertFalse(k.has64BitEntry());
        assertEquals(0x10_0000, k.prefAddress());
        assertEquals(k.protectedModeSize(), k.initSize());
    }

    @Test
    void readsFromAFile(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("vmlinuz");
        Files.write(p, TestImages.bz().build());
        BzImage k = BzImage.read(p);
        assertEquals(p.toString(), k.name());
        BootImageException e = assertThrows(BootImageException.class, () -> BzImage.read(dir.resolve("missing")));
        assertTrue(e.getMessage().contains("missing") && e.getMessage().contains("cannot read"), e.getMessage());
    }

    private static String reject(byte[] bytes) {
        BootImageException e = assertThrows(BootImageException.class, () -> BzImage.parse("k.img", bytes));
        assertTrue(e.getMessage().startsWith("k.img: "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void rejectsAnEmptyFile() {
        assertTrue(reject(new byte[0]).contains("empty"));
    }

    @Test
    void rejectsElfGzipXzZstdAndCpio() {
        byte[] elf = new byte[4096];
        elf[0] = 0x7F;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        assertTrue(reject(elf).contains("ELF"));
        byte[] gz = Arrays.copyOf(new byte[] {0x1F, (byte) 0x8B, 8, 0}, 4096);
        assertTrue(reject(gz).contains("gzip"));
        byte[] xz = Arrays.copyOf(new byte[] {(byte) 0xFD, '7', 'z', 'X', 'Z', 0}, 4096);
        assertTrue(reject(xz).contains("xz"));
        byte[] zst = Arrays.copyOf(new byte[] {0x28, (byte) 0xB5, 0x2F, (byte) 0xFD}, 4096);
        assertTrue(reject(zst).contains("zstd"));
        byte[] cpio = Arrays.copyOf("070701".getBytes(), 4096);
        assertTrue(reject(cpio).contains("cpio"));
    }

    @Test
    void rejectsATooSmallFile() {
        assertTrue(reject(new byte[100]).contains("too small"));
    }

    @Test
    void rejectsAMissingBootFlag() {
        byte[] b = TestImages.bz().build();
        b[0x1FE] = 0;
        assertTrue(reject(b).contains("0xAA55"));
    }

    @Test
    void rejectsAMissingHdrSMagic() {
        byte[] b = TestImages.bz().build();
        b[0x202] = 'X';
        assertTrue(reject(b).contains("HdrS"));
    }

    @Test
    void rejectsProtocolsBefore206() {
        String m = reject(TestImages.bz().version(0x0205).build());
        assertTrue(m.contains("2.05") && m.contains("2.06"), m);
    }

    @Test
    void rejectsZImages() {
        TestImages t = TestImages.bz();
        t.loadflags = 0;
        assertTrue(reject(t.build()).contains("zImage"));
    }

    @Test
    void rejectsTruncatedImages() {
        byte[] b = TestImages.bz().build();
        assertTrue(reject(Arrays.copyOf(b, 5 * 512)).contains("truncated"));
        TestImages t = TestImages.bz();
        t.syssizeOverride = 1 << 20;
        assertTrue(reject(t.build()).contains("truncated"));
    }

    @Test
    void rejectsACorruptHeaderLength() {
        TestImages t = TestImages.bz();
        t.headerEnd = 0x210;
        assertTrue(reject(t.build()).contains("setup header ends"));
    }
}
