package dev.apiary.vmm.os;

/**
 * The few libc functions the VMM needs. Struct arguments are passed as raw addresses of native memory
 * ({@link NativeStruct}), so every ioctl goes through one signature; addresses are {@code long}s. After a
 * call that fails, {@link Native#errno()} on the same thread tells why. Implemented by {@link JffiLibC}.
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
    int O_NONBLOCK = 0x800;
    int F_GETFL = 3;
    int F_SETFL = 4;
    short POLLIN = 0x1;
    short POLLOUT = 0x4;
    short POLLERR = 0x8;
    short POLLHUP = 0x10;
    short POLLNVAL = 0x20;
    int AF_UNIX = 1;
    int SOCK_STREAM = 1;
    int SOCK_NONBLOCK = 0x800;
    int SOCK_CLOEXEC = 0x80000;
    int MSG_DONTWAIT = 0x40;
    int MSG_NOSIGNAL = 0x4000;
    int EINPROGRESS = 115;

    int open(String path, int flags);

    int close(int fd);

    int ioctl(int fd, long request, long arg);

    /** The mapping's address, or -1 (MAP_FAILED). */
    long mmap(long addr, long length, int prot, int flags, int fd, long offset);

    int munmap(long addr, long length);

    int madvise(long addr, long length, int advice);

    int eventfd(int initval, int flags);

    long read(int fd, long buf, long count);

    long write(int fd, long buf, long count);

    long pthread_self();

    int pthread_kill(long thread, int sig);

    int sigaction(int signum, long act, long oldact);

    int __libc_current_sigrtmin();

    int getpid();

    String strerror(int errnum);

    int fallocate(int fd, int mode, long offset, long length);

    /** fcntl with an integer argument (F_GETFL, F_SETFL). */
    int fcntl(int fd, int cmd, long arg);

    /** {@code iov} points at {@code iovcnt} struct iovec (void *base, size_t len: 16 bytes). */
    long readv(int fd, long iov, int iovcnt);

    long writev(int fd, long iov, int iovcnt);

    int socket(int domain, int type, int protocol);

    /** {@code addr} points at a struct sockaddr of {@code len} bytes. */
    int connect(int fd, long addr, int len);

    /** {@code msg} points at a struct msghdr (56 bytes on x86-64). */
    long sendmsg(int fd, long msg, int flags);

    int geteuid();

    /** {@code fds} points at {@code nfds} struct pollfd (int fd, short events, short revents: 8 bytes). */
    int poll(long fds, long nfds, int timeoutMillis);
}
