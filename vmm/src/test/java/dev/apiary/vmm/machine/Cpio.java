package dev.apiary.vmm.machine;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** A cpio "newc" archive writer, enough for an initramfs (the format of the kernel's Documentation/driver-api/early-userspace/buffer-format.rst). */
final class Cpio {
    private final OutputStream out;
    private int ino = 1;
    private long written;

    Cpio(OutputStream out) {
        this.out = out;
    }

    void dir(String name) throws IOException {
        entry(name, 040755, new byte[0], 0, 0);
    }

    void charDevice(String name, int major, int minor) throws IOException {
        entry(name, 020600, new byte[0], major, minor);
    }

    void file(String name, byte[] data, int perm) throws IOException {
        entry(name, 0100000 | perm, data, 0, 0);
    }

    void trailer() throws IOException {
        entry("TRAILER!!!", 0, new byte[0], 0, 0);
    }

    private void entry(String name, int mode, byte[] data, int rmajor, int rminor) throws IOException {
        byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        String h = String.format("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
                name.equals("TRAILER!!!") ? 0 : ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rmajor, rminor, n.length, 0);
        write(h.getBytes(StandardCharsets.US_ASCII));
        write(n);
        pad();
        write(data);
        pad();
    }

    private void write(byte[] b) throws IOException {
        out.write(b);
        written += b.length;
    }

    private void pad() throws IOException {
        while (written % 4 != 0) {
            write(new byte[1]);
        }
    }
}
