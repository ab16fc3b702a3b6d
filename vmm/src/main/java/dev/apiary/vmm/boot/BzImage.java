package dev.apiary.vmm.boot;

import static dev.apiary.vmm.boot.BootParams.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A Linux x86 kernel in bzImage format (boot protocol 2.06 or later), checked and parsed. The file is a
 * real-mode setup part ({@code (setup_sects + 1) * 512} bytes, starting with the setup header at 0x1F1) and
 * the protected-mode part that follows, which the loader copies to 1 MiB.
 */
public final class BzImage {
    private static final int SECTOR = 512;
    /** Enough to hold the setup header up to the 2.06 fields we always read. */
    private static final int MIN_SIZE = CMDLINE_SIZE + 4;

    private final String name;
    private final byte[] image;
    private final ByteBuffer le;
    private final int setupSize;

    private BzImage(String name, byte[] image, int setupSize) {
        this.name = name;
        this.image = image;
        this.le = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        this.setupSize = setupSize;
    }

    /** Reads and checks a bzImage file. */
    public static BzImage read(Path path) throws BootImageException {
        byte[] bytes;
        try {
            long size = Files.size(path);
            if (size > Integer.MAX_VALUE - 8) {
                throw new BootImageException(path + ": not a bzImage: " + size + " bytes is far too big for a kernel");
            }
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new BootImageException(path + ": cannot read kernel: " + e, e);
        }
        return parse(path.toString(), bytes);
    }

    /**
     * Checks and parses a bzImage held in memory.
     *
     * @param name what to call the image in error messages (usually its path)
     */
    public static BzImage parse(String name, byte[] bytes) throws BootImageException {
        if (bytes.length == 0) {
            throw new BootImageException(name + ": not a bzImage: the file is empty");
        }
        String other = recogniseOtherFormat(bytes);
        if (other != null) {
            throw new BootImageException(name + ": not a bzImage: " + other);
        }
        if (bytes.length < MIN_SIZE) {
            throw new BootImageException(name + ": not a bzImage: too small (" + bytes.length
                    + " bytes; the setup header alone needs " + MIN_SIZE + ")");
        }
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int bootFlag = Short.toUnsignedInt(le.getShort(BOOT_FLAG));
        if (bootFlag != BOOT_FLAG_VALUE) {
            throw new BootImageException(String.format(
                    "%s: not a bzImage: no boot flag 0xAA55 at offset 0x1FE (found 0x%04X)", name, bootFlag));
        }
        if (le.getInt(HEADER) != HEADER_MAGIC) {
            throw new BootImageException(name + ": not a bzImage: no \"HdrS\" magic at offset 0x202"
                    + " (a boot sector, but not a Linux kernel with a boot protocol header)");
        }
        int version = Short.toUnsignedInt(le.getShort(VERSION));
        if (version < PROTOCOL_MIN) {
            throw new BootImageException(name + ": boot protocol " + BootParams.version(version)
                    + " is too old: Apiary needs 2.06 or later (Linux 2.6.22+)");
        }
        int loadflags = Byte.toUnsignedInt(le.get(LOADFLAGS));
        if ((loadflags & LOADED_HIGH) == 0) {
            throw new BootImageException(name + ": a zImage (protected-mode part loaded at 0x10000, loadflags"
                    + " LOADED_HIGH clear); only bzImage kernels are supported");
        }
        int sects = Byte.toUnsignedInt(le.get(SETUP_SECTS));
        if (sects == 0) {
            sects = 4; // boot.rst: "If this field is 0, the real value is 4."
        }
        int setupSize = (sects + 1) * SECTOR;
        if (bytes.length <= setupSize) {
            throw new BootImageException(name + ": truncated bzImage: " + bytes.length
                    + " bytes, but the setup part alone is " + setupSize + " bytes (setup_sects " + sects + ")");
        }
        long syssize = Integer.toUnsignedLong(le.getInt(SYSSIZE)) * 16;
        // syssize is rounded up to 16-byte paragraphs, so up to 15 bytes of it may be past the end of the file.
        if (syssize > bytes.length - setupSize + 15L) {
            throw new BootImageException(name + ": truncated bzImage: the header says the protected-mode part is "
                    + syssize + " bytes, the file holds " + (bytes.length - setupSize));
        }
        int headerEnd = 0x202 + Byte.toUnsignedInt(le.get(JUMP + 1));
        if (headerEnd > setupSize || headerEnd < CMDLINE_SIZE + 4) {
            throw new BootImageException(String.format(
                    "%s: corrupt bzImage: setup header ends at 0x%X (from the jump at 0x200)", name, headerEnd));
        }
        return new BzImage(name, bytes, setupSize);
    }

    /** Names a format people often mistake for a bzImage, or null. */
    private static String recogniseOtherFormat(byte[] b) {
        if (startsWith(b, 0x7F, 'E', 'L', 'F')) {
            return "it is an ELF file (an uncompressed vmlinux?); give the bzImage (arch/x86/boot/bzImage,"
                    + " /boot/vmlinuz-*)";
        }
        if (startsWith(b, 0x1F, 0x8B)) {
            return "it is gzip-compressed data (a compressed vmlinux or an initrd?); give the bzImage itself";
        }
        if (startsWith(b, 0xFD, '7', 'z', 'X', 'Z', 0x00)) {
            return "it is xz-compressed data (a compressed vmlinux or an initrd?); give the bzImage itself";
        }
        if (startsWith(b, 0x28, 0xB5, 0x2F, 0xFD)) {
            return "it is zstd-compressed data (a compressed vmlinux or an initrd?); give the bzImage itself";
        }
        if (startsWith(b, '0', '7', '0', '7', '0')) {
            return "it is a cpio archive (an initramfs?); give it as the initrd, not as the kernel";
        }
        return null;
    }

    private static boolean startsWith(byte[] b, int... magic) {
        if (b.length < magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if (Byte.toUnsignedInt(b[i]) != magic[i]) {
                return false;
            }
        }
        return true;
    }

    public String name() {
        return name;
    }

    /** Boot protocol version, e.g. 0x020F for 2.15. */
    public int protocolVersion() {
        return Short.toUnsignedInt(le.getShort(VERSION));
    }

    /** Bytes of the real-mode setup part (boot sector included); the protected-mode part starts here. */
    public int setupSize() {
        return setupSize;
    }

    public int protectedModeSize() {
        return image.length - setupSize;
    }

    /** The protected-mode part, as the loader copies it to guest RAM. */
    public byte[] protectedModeCode() {
        return Arrays.copyOfRange(image, setupSize, image.length);
    }

    /** Copies the protected-mode part to guest RAM at {@code gpa} (no intermediate copy). */
    void copyProtectedModeTo(GuestMemory mem, long gpa) throws GuestMemoryException {
        mem.write(gpa, image, setupSize, image.length - setupSize);
    }

    /** Offset just past the setup header ({@code 0x202 + byte at 0x201}). */
    public int setupHeaderEnd() {
        return 0x202 + Byte.toUnsignedInt(le.get(JUMP + 1));
    }

    /** The setup header bytes [0x1F1, end), to copy into the zero page at the same offset. */
    public byte[] setupHeader() {
        return Arrays.copyOfRange(image, HDR_START, Math.min(setupHeaderEnd(), HDR_LIMIT));
    }

    public int loadflags() {
        return Byte.toUnsignedInt(le.get(LOADFLAGS));
    }

    /** {@code xloadflags}, 0 before protocol 2.12 (which has no such field). */
    public int xloadflags() {
        return protocolVersion() >= PROTOCOL_XLOADFLAGS ? Short.toUnsignedInt(le.getShort(XLOADFLAGS)) : 0;
    }

    /** Whether the image has the 64-bit entry point at load address + 0x200. */
    public boolean has64BitEntry() {
        return (xloadflags() & XLF_KERNEL_64) != 0;
    }

    public boolean relocatable() {
        return le.get(RELOCATABLE_KERNEL) != 0;
    }

    public long kernelAlignment() {
        return Integer.toUnsignedLong(le.getInt(KERNEL_ALIGNMENT));
    }

    /** Maximum command line length without the terminating NUL. */
    public long cmdlineSize() {
        return Integer.toUnsignedLong(le.getInt(CMDLINE_SIZE));
    }

    /** Highest address the initrd may occupy (inclusive). */
    public long initrdAddrMax() {
        return Integer.toUnsignedLong(le.getInt(INITRD_ADDR_MAX));
    }

    public long code32Start() {
        return Integer.toUnsignedLong(le.getInt(CODE32_START));
    }

    /** Where the kernel prefers to run (and decompresses itself); 1 MiB before protocol 2.10. */
    public long prefAddress() {
        return protocolVersion() >= PROTOCOL_PREF_ADDRESS ? le.getLong(PREF_ADDRESS) : 0x10_0000L;
    }

    /**
     * Bytes of linear memory the kernel needs from its run address before it sets up its own memory map.
     * Before protocol 2.10 there is no such field; the protected-mode size is the best lower bound.
     */
    public long initSize() {
        long size = protocolVersion() >= PROTOCOL_PREF_ADDRESS ? Integer.toUnsignedLong(le.getInt(INIT_SIZE)) : 0;
        return Math.max(size, protectedModeSize());
    }

    /** The kernel's version string from the setup part (e.g. "6.1.0-18-amd64 (…) #1 SMP …"), or "". */
    public String kernelVersion() {
        int ptr = Short.toUnsignedInt(le.getShort(KERNEL_VERSION));
        if (ptr == 0) {
            return "";
        }
        int start = ptr + 0x200;
        int end = start;
        while (end < setupSize && end - start < 256 && image[end] != 0) {
            end++;
        }
        return start >= setupSize ? "" : new String(image, start, end - start, StandardCharsets.US_ASCII);
    }

    @Override
    public String toString() {
        return name + " (bzImage, boot protocol " + BootParams.version(protocolVersion()) + ", "
                + protectedModeSize() + " bytes protected-mode code)";
    }
}
