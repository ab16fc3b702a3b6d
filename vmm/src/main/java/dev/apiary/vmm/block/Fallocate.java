package dev.apiary.vmm.block;

import java.lang.System.Logger.Level;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;

/**
 * {@code fallocate(2)} through jnr-ffi, for punching holes and zeroing ranges of an image without writing
 * data. A {@link java.nio.channels.FileChannel} does not expose its descriptor, so the backend opens the
 * file a second time with {@code open(2)} for these calls (any descriptor of the file will do).
 */
final class Fallocate {
    private static final System.Logger LOG = System.getLogger(Fallocate.class.getName());

    /** linux/falloc.h */
    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;
    static final int O_RDWR = 0x2;
    static final int O_CLOEXEC = 0x80000;

    public interface Lib {
        @SaveError
        int fallocate(int fd, int mode, long offset, long length);

        @SaveError
        int open(String path, int flags);

        int close(int fd);
    }

    private static final class Holder {
        static final Lib LIB = load();
        static final Runtime RUNTIME = LIB == null ? null : Runtime.getRuntime(LIB);

        private static Lib load() {
            try {
                return LibraryLoader.create(Lib.class).load("c");
            } catch (Throwable t) {
                LOG.log(Level.WARNING, "fallocate unavailable; discards will write zeroes", t);
                return null;
            }
        }
    }

    private Fallocate() {}

    /** A read-write descriptor of {@code path}, or -1 when native calls are unavailable or open fails. */
    static int open(String path) {
        Lib lib = Holder.LIB;
        return lib == null ? -1 : lib.open(path, O_RDWR | O_CLOEXEC);
    }

    static void close(int fd) {
        if (fd >= 0 && Holder.LIB != null) {
            Holder.LIB.close(fd);
        }
    }

    /** 0 on success, else the errno (EOPNOTSUPP = 95 when the file system cannot do it). */
    static int fallocate(int fd, int mode, long offset, long length) {
        Lib lib = Holder.LIB;
        if (lib == null || fd < 0) {
            return 95;
        }
        int r = lib.fallocate(fd, mode, offset, length);
        return r == 0 ? 0 : LastError.getLastError(Holder.RUNTIME);
    }
}
