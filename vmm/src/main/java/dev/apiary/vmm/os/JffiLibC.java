package dev.apiary.vmm.os;

import com.kenai.jffi.CallContext;
import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.Library;
import com.kenai.jffi.MemoryIO;
import com.kenai.jffi.Type;
import java.nio.charset.StandardCharsets;

/**
 * {@link LibC} on jffi, the native-call layer under jnr-ffi, called directly: each function is a symbol
 * address plus a call context, invoked through {@link Invoker}. jnr-ffi's {@code LibraryLoader} would
 * generate the same stubs with ASM at start-up, which measured 350–500 ms of a VMM's start here (a third of
 * the time to the guest's first byte); direct jffi calls cost nothing to set up and the same per call.
 * The call contexts save errno, which {@link Native#errno()} reads back.
 */
final class JffiLibC implements LibC {
    private static final Invoker INVOKER = Invoker.getInstance();
    private static final Type I = Type.SINT;
    private static final Type L = Type.SLONG;
    private static final Type P = Type.POINTER;

    private final Library libc = Library.getCachedInstance("libc.so.6", Library.LAZY | Library.GLOBAL);

    private record Fn(long address, CallContext context) {}

    private final Fn open = fn("open", I, 2, P, I, I);
    private final Fn close = fn("close", I, I);
    private final Fn ioctl = fn("ioctl", I, 2, I, L, L);
    private final Fn mmap = fn("mmap", P, P, L, I, I, I, L);
    private final Fn munmap = fn("munmap", I, P, L);
    private final Fn madvise = fn("madvise", I, P, L, I);
    private final Fn eventfd = fn("eventfd", I, I, I);
    private final Fn read = fn("read", L, I, P, L);
    private final Fn write = fn("write", L, I, P, L);
    private final Fn pthreadSelf = fn("pthread_self", L);
    private final Fn pthreadKill = fn("pthread_kill", I, L, I);
    private final Fn sigaction = fn("sigaction", I, I, P, P);
    private final Fn sigrtmin = fn("__libc_current_sigrtmin", I);
    private final Fn getpid = fn("getpid", I);
    private final Fn strerror = fn("strerror", P, I);
    private final Fn fallocate = fn("fallocate", I, I, I, L, L);
    private final Fn fcntl = fn("fcntl", I, 2, I, I, L);
    private final Fn poll = fn("poll", I, P, L, I);
    private final Fn readv = fn("readv", L, I, P, I);
    private final Fn writev = fn("writev", L, I, P, I);
    private final Fn socket = fn("socket", I, I, I, I);
    private final Fn connect = fn("connect", I, I, P, I);
    private final Fn sendmsg = fn("sendmsg", L, I, P, I);
    private final Fn geteuid = fn("geteuid", I);

    private Fn fn(String name, Type ret, Type... params) {
        return fn(name, ret, params.length, params);
    }

    /** A function with {@code fixed} fixed parameters (fewer than {@code params} for a variadic one). */
    private Fn fn(String name, Type ret, int fixed, Type... params) {
        long address = libc.getSymbolAddress(name);
        if (address == 0) {
            throw new UnsatisfiedLinkError("libc has no " + name + ": " + Library.getLastError());
        }
        CallContext ctx = fixed == params.length
                ? CallContext.getCallContext(ret, params, CallingConvention.DEFAULT, true)
                : CallContext.getCallContext(ret, fixed, params, CallingConvention.DEFAULT, true);
        return new Fn(address, ctx);
    }

    private static int i(long v) {
        return (int) v;
    }

    @Override
    public int open(String path, int flags) {
        byte[] b = path.getBytes(StandardCharsets.UTF_8);
        MemoryIO io = MemoryIO.getInstance();
        long s = io.allocateMemory(b.length + 1, true);
        try {
            io.putByteArray(s, b, 0, b.length);
            return i(INVOKER.invokeN3(open.context(), open.address(), s, flags, 0));
        } finally {
            io.freeMemory(s);
        }
    }

    @Override
    public int close(int fd) {
        return i(INVOKER.invokeN1(close.context(), close.address(), fd));
    }

    @Override
    public int ioctl(int fd, long request, long arg) {
        return i(INVOKER.invokeN3(ioctl.context(), ioctl.address(), fd, request, arg));
    }

    @Override
    public long mmap(long addr, long length, int prot, int flags, int fd, long offset) {
        return INVOKER.invokeN6(mmap.context(), mmap.address(), addr, length, prot, flags, fd, offset);
    }

    @Override
    public int munmap(long addr, long length) {
        return i(INVOKER.invokeN2(munmap.context(), munmap.address(), addr, length));
    }

    @Override
    public int madvise(long addr, long length, int advice) {
        return i(INVOKER.invokeN3(madvise.context(), madvise.address(), addr, length, advice));
    }

    @Override
    public int eventfd(int initval, int flags) {
        return i(INVOKER.invokeN2(eventfd.context(), eventfd.address(), initval, flags));
    }

    @Override
    public long read(int fd, long buf, long count) {
        return INVOKER.invokeN3(read.context(), read.address(), fd, buf, count);
    }

    @Override
    public long write(int fd, long buf, long count) {
        return INVOKER.invokeN3(write.context(), write.address(), fd, buf, count);
    }

    @Override
    public long pthread_self() {
        return INVOKER.invokeN0(pthreadSelf.context(), pthreadSelf.address());
    }

    @Override
    public int pthread_kill(long thread, int sig) {
        return i(INVOKER.invokeN2(pthreadKill.context(), pthreadKill.address(), thread, sig));
    }

    @Override
    public int sigaction(int signum, long act, long oldact) {
        return i(INVOKER.invokeN3(sigaction.context(), sigaction.address(), signum, act, oldact));
    }

    @Override
    public int __libc_current_sigrtmin() {
        return i(INVOKER.invokeN0(sigrtmin.context(), sigrtmin.address()));
    }

    @Override
    public int getpid() {
        return i(INVOKER.invokeN0(getpid.context(), getpid.address()));
    }

    @Override
    public String strerror(int errnum) {
        long s = INVOKER.invokeN1(strerror.context(), strerror.address(), errnum);
        return s == 0 ? "errno " + errnum : new String(MemoryIO.getInstance().getZeroTerminatedByteArray(s),
                StandardCharsets.UTF_8);
    }

    @Override
    public int fallocate(int fd, int mode, long offset, long length) {
        return i(INVOKER.invokeN4(fallocate.context(), fallocate.address(), fd, mode, offset, length));
    }

    @Override
    public int fcntl(int fd, int cmd, long arg) {
        return i(INVOKER.invokeN3(fcntl.context(), fcntl.address(), fd, cmd, arg));
    }

    @Override
    public int poll(long fds, long nfds, int timeoutMillis) {
        return i(INVOKER.invokeN3(poll.context(), poll.address(), fds, nfds, timeoutMillis));
    }

    @Override
    public long readv(int fd, long iov, int iovcnt) {
        return INVOKER.invokeN3(readv.context(), readv.address(), fd, iov, iovcnt);
    }

    @Override
    public long writev(int fd, long iov, int iovcnt) {
        return INVOKER.invokeN3(writev.context(), writev.address(), fd, iov, iovcnt);
    }

    @Override
    public int socket(int domain, int type, int protocol) {
        return i(INVOKER.invokeN3(socket.context(), socket.address(), domain, type, protocol));
    }

    @Override
    public int connect(int fd, long addr, int len) {
        return i(INVOKER.invokeN3(connect.context(), connect.address(), fd, addr, len));
    }

    @Override
    public long sendmsg(int fd, long msg, int flags) {
        return INVOKER.invokeN3(sendmsg.context(), sendmsg.address(), fd, msg, flags);
    }

    @Override
    public int geteuid() {
        return i(INVOKER.invokeN0(geteuid.context(), geteuid.address()));
    }

    long symbol(String name) {
        return libc.getSymbolAddress(name);
    }
}
