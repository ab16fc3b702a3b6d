package dev.apiary.vmm.block;

import dev.apiary.vmm.os.LibC;
import dev.apiary.vmm.os.Native;
import java.lang.System.Logger.Level;

/**
 * {@code fallocate(2)}, for punching holes and zeroing ranges of an image without writing data. A
 * {@link java.nio.channels.FileChannel} does not expose its descriptor, so the backend opens the file a
 * second time with {@code open(2)} for these calls (any descriptor of the file will do).
 */
final class Fallocate {
    private static final System.Logger LOG = System.getLogger(Fallocate.class.getName());

    /** linux/falloc.h */
    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;

    private static final class Holder {
        static final LibC LIB = load();

        private static LibC load() {
            try {
                return Native.libc();
            } catch (Throwable t) {
                LOG.log(Level.WARNING, "fallocate unavailable; discards will write zeroes", t);
                return null;
            }
        }
    }

    private Fallocate() {}

    /** A read-write descriptor of {@code path}, or -1 when native calls are unavailable or open fails. */
    static int open(String path) {
        LibC lib = Holder.LIB;
        return lib == null ? -1 : lib.open(path, LibC.O_RDWR | LibC.O_CLOEXEC);
    }

    static void close(int fd) {
        if (fd >= 0 && Holder.LIB != null) {
            Holder.LIB.close(fd);
        }
    }

    /** 0 on success, else the errno (EOPNOTSUPP = 95 when the file system cannot do it). */
    static int fallocate(int fd, int mode, long offset, long length) {
        LibC lib = Holder.LIB;
        if (lib == null || fd < 0) {
            return 95;
        }
        int r = lib.fallocate(fd, mode, offset, length);
        return r == 0 ? 0 : Native.errno();
    }
}
