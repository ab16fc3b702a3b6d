package dev.apiary.vmm.firmware;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.boot.BootImageException;
import dev.apiary.vmm.bus.Bus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the code and the variable store go, and how their files are checked and the store is kept. */
class SystemFlashTest {
    /** A firmware volume of {@code kib} KiB: "_FVH" at offset 40, a marker in its last byte. */
    static byte[] volume(int kib, int marker) {
        byte[] b = new byte[kib << 10];
        System.arraycopy("_FVH".getBytes(StandardCharsets.US_ASCII), 0, b, 40, 4);
        b[b.length - 1] = (byte) marker;
        return b;
    }

    @Test
    void codeEndsAt4GiBAndTheStoreSitsBelowIt(@TempDir Path dir) throws Exception {
        Path code = dir.resolve("OVMF_CODE_4M.fd");
        Path vars = dir.resolve("OVMF_VARS_4M.fd");
        Files.write(code, volume(3568, 0xC0)); // Debian's 4M build: 0x37C000 + 0x84000
        Files.write(vars, volume(528, 0x5A));
        Path store = dir.resolve("vm-vars.fd");
        SystemFlash f = SystemFlash.open(code, vars, store);
        assertEquals(0xFFC84000L, f.codeBase());
        assertEquals(0xFFC00000L, f.varsBase());
        assertArrayEquals(Files.readAllBytes(vars), Files.readAllBytes(store), "the store starts as the template");
        Bus mmio = new Bus("mmio");
        f.attach(mmio);
        assertEquals(0xC0, mmio.read(0xFFFF_FFFFL, 1));
        assertEquals(0x5A, mmio.read(0xFFC8_3FFFL, 1));
        mmio.write(0xFFFF_FFF0L, 1, 0x90); // the code is read-only
        assertEquals(0, mmio.read(0xFFFF_FFF0L, 1));
        // the guest erases the store's last block: the file has it, and the next open keeps it
        mmio.write(0xFFC8_3000L, 1, 0x20);
        mmio.write(0xFFC8_3000L, 1, 0xD0);
        f.vars().stop();
        assertEquals((byte) 0xFF, Files.readAllBytes(store)[0x83000]);
        SystemFlash again = SystemFlash.open(code, vars, store);
        assertEquals((byte) 0xFF, again.vars().contents()[0x83000]);
        again.vars().stop();
    }

    @Test
    void badImagesAreNamed(@TempDir Path dir) throws Exception {
        Path code = dir.resolve("code.fd");
        Path vars = dir.resolve("vars.fd");
        Files.write(vars, volume(128, 0));
        Files.write(code, new byte[8192]);
        assertTrue(assertThrows(BootImageException.class, () -> SystemFlash.open(code, vars, null)).getMessage()
                .contains("not a UEFI firmware volume"));
        Files.write(code, new byte[1000]);
        assertTrue(assertThrows(BootImageException.class, () -> SystemFlash.open(code, vars, null)).getMessage()
                .contains("4 KiB"));
        Files.write(code, volume(8192, 0));
        assertTrue(assertThrows(BootImageException.class, () -> SystemFlash.open(code, vars, null)).getMessage()
                .contains("MiB"));
        Files.write(code, volume(1024, 0));
        Path store = dir.resolve("store.fd");
        Files.write(store, volume(64, 0));
        assertTrue(assertThrows(BootImageException.class, () -> SystemFlash.open(code, vars, store)).getMessage()
                .contains("delete it"));
        SystemFlash inMemory = SystemFlash.open(code, vars, null);
        assertEquals((1L << 32) - (1024 << 10) - (128 << 10), inMemory.varsBase());
    }
}
