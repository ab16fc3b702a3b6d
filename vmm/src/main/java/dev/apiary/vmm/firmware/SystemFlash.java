package dev.apiary.vmm.firmware;

import dev.apiary.vmm.boot.BootImageException;
import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The PC's system flash as QEMU's {@code pc} machine lays out two {@code -drive if=pflash} units, and as a
 * split OVMF build ({@code OVMF_CODE.fd} + {@code OVMF_VARS.fd}) expects it: the code at the top of the 32-bit
 * space, ending at 4 GiB (the reset vector is its last 16 bytes), read-only; the variable store right below
 * it, a writable {@link Pflash} backed by a per-VM copy of the vars template. With Debian's 4 MiB build the
 * code is 0xFFC84000–0xFFFFFFFF and the variables 0xFFC00000–0xFFC83FFF (OVMF's PcdOvmfFdBaseAddress).
 *
 * <p>The code is mapped as read-only memory by the accelerator (so it runs at memory speed and its decoded
 * code is cached); its MMIO handler answers reads the accelerator sends to the bus and drops writes.
 */
public final class SystemFlash {
    private static final System.Logger LOG = System.getLogger(SystemFlash.class.getName());

    /** End of the flash: 4 GiB. */
    public static final long TOP = 1L << 32;
    /** OVMF's flash block (PcdOvmfFirmwareBlockSize) and QEMU's PC flash sector: 4 KiB. */
    public static final int BLOCK_SIZE = 4096;
    /** QEMU's limit for the PC system flash (both units): 8 MiB, keeping clear of the IOAPIC and LAPIC pages. */
    public static final long MAX_SIZE = 8L << 20;
    /** "_FVH" at offset 40 of an EFI_FIRMWARE_VOLUME_HEADER (PI spec vol. 3, 3.2.1). */
    static final int FVH_SIGNATURE_OFFSET = 40;
    static final byte[] FVH_SIGNATURE = "_FVH".getBytes(StandardCharsets.US_ASCII);

    private final byte[] code;
    private final long codeBase;
    private final Pflash vars;
    private final long varsBase;
    private final IoHandler codeHandler;
    private boolean codeWriteLogged;

    private SystemFlash(byte[] code, Pflash vars) {
        this.code = code;
        this.codeBase = TOP - code.length;
        this.vars = vars;
        this.varsBase = codeBase - vars.size();
        this.codeHandler = new CodeRom();
    }

    /**
     * Reads and checks the code image and the variable store. A store that does not exist yet is created as a
     * copy of {@code varsTemplate}; an existing one is used as it is (the guest's variables from earlier runs)
     * and must have the template's size. A null store keeps the variables in memory only, starting from the
     * template.
     */
    public static SystemFlash open(Path codeFile, Path varsTemplate, Path varsStore) throws BootImageException {
        byte[] code = readVolume(codeFile, "firmware code");
        byte[] template = readVolume(varsTemplate, "UEFI variable store template");
        if (code.length + template.length > MAX_SIZE) {
            throw new BootImageException(String.format("%s and %s are %d KiB together, more than the %d MiB of the"
                    + " PC's system flash", codeFile, varsTemplate, (code.length + template.length) >> 10,
                    MAX_SIZE >> 20));
        }
        if (varsStore == null) {
            return new SystemFlash(code, new Pflash("pflash-vars", template, BLOCK_SIZE, null));
        }
        FileChannel backing;
        byte[] contents;
        try {
            if (!Files.exists(varsStore)) {
                Path tmp = varsStore.resolveSibling("." + varsStore.getFileName() + ".tmp");
                Files.write(tmp, template);
                Files.move(tmp, varsStore, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            contents = Files.readAllBytes(varsStore);
            if (contents.length != template.length) {
                throw new BootImageException(String.format("UEFI variable store %s is %d bytes, but its template %s"
                        + " is %d: delete it to start from the template again", varsStore, contents.length,
                        varsTemplate, template.length));
            }
            backing = FileChannel.open(varsStore, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new BootImageException("UEFI variable store " + varsStore + ": " + e.getMessage(), e);
        }
        return new SystemFlash(code, new Pflash("pflash-vars", contents, BLOCK_SIZE, backing));
    }

    /** A flash whose variables live in memory only (tests, tools). */
    public static SystemFlash inMemory(byte[] code, byte[] vars) {
        return new SystemFlash(code.clone(), new Pflash("pflash-vars", vars, BLOCK_SIZE, null));
    }

    private static byte[] readVolume(Path file, String what) throws BootImageException {
        byte[] b;
        try {
            long size = Files.size(file);
            if (size > MAX_SIZE) {
                throw new BootImageException(String.format("%s %s is %d bytes, more than the %d MiB system flash",
                        what, file, size, MAX_SIZE >> 20));
            }
            b = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BootImageException(what + " " + file + ": " + e.getMessage(), e);
        }
        if (b.length == 0 || b.length % BLOCK_SIZE != 0) {
            throw new BootImageException(String.format("%s %s is %d bytes, not a whole number of 4 KiB flash blocks",
                    what, file, b.length));
        }
        if (!hasVolumeHeader(b)) {
            throw new BootImageException(what + " " + file + " is not a UEFI firmware volume (no _FVH signature at"
                    + " offset 40): give OVMF_CODE*.fd and OVMF_VARS*.fd from the ovmf package");
        }
        return b;
    }

    static boolean hasVolumeHeader(byte[] b) {
        if (b.length < FVH_SIGNATURE_OFFSET + 4) {
            return false;
        }
        for (int i = 0; i < 4; i++) {
            if (b[FVH_SIGNATURE_OFFSET + i] != FVH_SIGNATURE[i]) {
                return false;
            }
        }
        return true;
    }

    /** Where the code starts (it ends at 4 GiB). */
    public long codeBase() {
        return codeBase;
    }

    /** The code image, for the accelerator's read-only mapping (a copy). */
    public byte[] code() {
        return code.clone();
    }

    public long varsBase() {
        return varsBase;
    }

    /** The variable store's device (for the machine's inventory). */
    public Pflash vars() {
        return vars;
    }

    /** Maps the code's handler and the variable store on the MMIO bus. */
    public void attach(Bus mmio) {
        mmio.register(codeBase, code.length, "pflash-code", codeHandler);
        mmio.register(varsBase, vars.size(), vars.name(), vars.handler());
    }

    /** The read-only code as the bus sees it: reads return the image, writes are dropped (logged once). */
    private final class CodeRom implements IoHandler {
        private final ByteBuffer view = ByteBuffer.wrap(code).order(ByteOrder.LITTLE_ENDIAN);

        @Override
        public long read(long offset, int size) {
            long v = 0;
            for (int i = size - 1; i >= 0; i--) {
                long at = offset + i;
                v = (v << 8) | (at >= 0 && at < code.length ? view.get((int) at) & 0xFF : 0xFF);
            }
            return v;
        }

        @Override
        public void write(long offset, int size, long value) {
            synchronized (this) {
                if (codeWriteLogged) {
                    return;
                }
                codeWriteLogged = true;
            }
            LOG.log(Level.INFO, () -> String.format("pflash-code: guest write of 0x%x at 0x%x ignored (read-only)",
                    value, codeBase + offset));
        }
    }
}
