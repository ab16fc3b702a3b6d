package dev.apiary.vmm.kvm;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.SaveError;

/**
 * The few libc functions the VMM needs. Struct arguments are passed as raw addresses of native memory
 * ({@link NativeStruct}), so every ioctl goes through one signature. (jnr's all-primitive six-argument
 * {@code mmap} binding fails with EINVAL on this JDK; it takes and returns {@link Pointer}, see
 * ENVIRONMENT.md.)
 */
public interface LibC {
    int O_RDWR = 0x2;
    int O_CLOEXEC = 0x80000;
    int PROT_READ = 0x1;
    int PROT_WRITE = 0x2;
    int MAP_SHARED = 0x01;
    int MAP_PRIVATE = 0x02;
    int MAP_ANONYMOUS = 0x20;
    int MAP_NORESERVE = 0x4000;
    int EFD_CLOEXEC = 0x80000;
    int EFD_NONBLOCK = 0x800;
    int MADV_DONTDUMP = 16;
    int MADV_MERGEABLE = 12;
    int EINTR = 4;
    int EAGAIN = 11;

    @SaveError
    int open(String path, int flags);

    @SaveError
    int close(int fd);

    @SaveError
    int ioctl(int fd, long request, long arg);

    @SaveError
    Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset);

    @SaveError
    int munmap(Pointer addr, long length);

    @SaveError
    int madvise(Pointer addr, long length, int advice);

    @SaveError
    int eventfd(int initval, int flags);

    @SaveError
    long read(int fd, long buf, long count);

    @SaveError
    long write(int fd, long buf, long count);

    long pthread_self();

    int pthread_kill(long thread, int sig);

    @SaveError
    int sigaction(int signum, long act, long oldact);

    int __libc_current_sigrtmin();

    int getpid();

    String strerror(int errnum);
}
