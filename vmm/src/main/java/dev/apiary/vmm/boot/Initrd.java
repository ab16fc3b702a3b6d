package dev.apiary.vmm.boot;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An initial ramdisk: a name for messages, its size, and a way to copy it into guest RAM. A file is streamed
 * in 1 MiB pieces when loaded, so a large initramfs never sits on the Java heap whole.
 */
public record Initrd(String name, long size, Source source) {
    @FunctionalInterface
    public interface Source {
        void copyTo(GuestMemory mem, long gpa, long size) throws IOException, GuestMemoryException;
    }

    public static Initrd of(String name, byte[] bytes) {
        byte[] copy = bytes.clone();
        return new Initrd(name, copy.length, (mem, gpa, size) -> mem.write(gpa, copy));
    }

    /** An initrd file; its size is read now, its contents when the loader copies it. */
    public static Initrd of(Path path) throws BootImageException {
        long size;
        try {
            size = Files.size(path);
        } catch (IOException e) {
            throw new BootImageException(path + ": cannot read initrd: " + e, e);
        }
        return new Initrd(path.toString(), size, (mem, gpa, n) -> {
            byte[] buf = new byte[1 << 20];
            long done = 0;
            try (InputStream in = Files.newInputStream(path)) {
                while (done < n) {
                    int r = in.read(buf, 0, (int) Math.min(buf.length, n - done));
                    if (r < 0) {
                        throw new IOException("file shrank to " + done + " bytes while loading (expected " + n + ")");
                    }
                    mem.write(gpa + done, buf, 0, r);
                    done += r;
                }
            }
        });
    }
}
