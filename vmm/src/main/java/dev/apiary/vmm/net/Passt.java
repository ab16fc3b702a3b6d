package dev.apiary.vmm.net;

import dev.apiary.vmm.os.IoVec;
import dev.apiary.vmm.os.LibC;
import dev.apiary.vmm.os.Native;
import dev.apiary.vmm.os.NativeStruct;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * User-mode networking through passt(1) (Debian's {@code passt}): the VMM starts passt as its child, connects to
 * its UNIX stream socket and exchanges frames as QEMU's {@code -netdev stream} does — each Ethernet frame
 * preceded by its length, 32-bit big-endian, no virtio-net header. passt turns the guest's TCP, UDP and ICMP
 * echo into ordinary sockets of this host (no privileges, no TAP), answers ARP, DHCP and NDP itself (the
 * guest gets the host's address and gateway, as passt's defaults do), and forwards the host ports in
 * {@link PortForward} to the guest.
 *
 * <p>passt runs in the foreground ({@code -f}) and for one connection ({@code -1}): it exits when the VMM closes
 * the socket or dies. Started as root it would drop to {@code nobody} before creating its socket, so its
 * directory is handed to that user first.
 *
 * <p>Frames are read with one read of the length and one readv straight into the guest's buffers; a frame
 * that arrives in pieces (the stream is a stream) is waited for, briefly, since passt writes whole frames.
 */
public final class Passt implements NetBackend {
    private static final System.Logger LOG = System.getLogger(Passt.class.getName());
    /** Longer than any frame passt sends (64 KiB + headers): a longer length means the stream is out of step. */
    static final int MAX_FRAME = VirtioNet.MAX_FRAME;
    private static final long START_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** How long a frame already begun may take to arrive whole, or to be taken whole by passt. */
    private static final int STREAM_WAIT_MS = 2000;
    private static final int SOCKADDR_UN = 110;

    private final Process process;
    private final Path dir;
    private final int fd;
    private final NativeStruct lenIn = new NativeStruct(4);
    private int lenHave;
    private final NativeStruct lenOut = new NativeStruct(4);
    private final IoVec inWindow = new IoVec(IoVec.MAX_ENTRIES);
    private final IoVec outStream = new IoVec(IoVec.MAX_ENTRIES);
    private final IoVec outWindow = new IoVec(IoVec.MAX_ENTRIES);
    private final NativeStruct msg = new NativeStruct(56);
    private final NativeStruct pfd = new NativeStruct(8);
    private final NativeStruct discard = new NativeStruct(MAX_FRAME);
    private volatile boolean closed;
    /** Half a frame went out and the rest could not: passt would read garbage, so nothing more is sent. */
    private volatile boolean broken;

    private Passt(Process process, Path dir, int fd) {
        this.process = process;
        this.dir = dir;
        this.fd = fd;
    }

    /** The passt executable: {@code APIARY_PASST}, else {@code passt} on the PATH; null when there is none. */
    public static Path executable() {
        String override = System.getenv("APIARY_PASST");
        if (override != null && !override.isBlank()) {
            return Files.isExecutable(Path.of(override)) ? Path.of(override) : null;
        }
        String path = System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/bin:/usr/sbin:/bin";
        for (String d : path.split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "passt"))) {
                return Path.of(d, "passt");
            }
        }
        return null;
    }

    /** Starts passt for interface {@code name} with these forwarded ports and connects to it. */
    public static Passt start(String name, List<PortForward> ports) throws IOException {
        Path exe = executable();
        if (exe == null) {
            throw new IOException("backend passt: no passt executable (install Debian's passt package, or set APIARY_PASST)");
        }
        Path dir = Files.createTempDirectory("apiary-passt-");
        Path socket = dir.resolve("passt.sock");
        Path log = dir.resolve("passt.log");
        List<String> cmd = new ArrayList<>(List.of(exe.toString(), "--foreground", "--one-off", "--quiet",
                "--socket", socket.toString()));
        if (Native.libc().geteuid() == 0 && !giveToNobody(dir)) {
            cmd.addAll(List.of("--runas", "0")); // no 'nobody' here: keep root rather than fail
        }
        String tcp = spec(ports, PortForward.Protocol.TCP);
        String udp = spec(ports, PortForward.Protocol.UDP);
        if (!tcp.isEmpty()) {
            cmd.addAll(List.of("--tcp-ports", tcp));
        }
        if (!udp.isEmpty()) {
            cmd.addAll(List.of("--udp-ports", udp));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        int fd = -1;
        try {
            long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
            while (fd < 0) {
                if (!p.isAlive()) {
                    throw new IOException("passt exited with status " + p.exitValue() + ": " + tail(log));
                }
                if (Files.exists(socket)) {
                    fd = connect(socket);
                }
                if (fd < 0) {
                    if (System.nanoTime() > deadline) {
                        throw new IOException("passt did not open " + socket + " within 10 s: " + tail(log));
                    }
                    Thread.sleep(10);
                }
            }
            int fl = Native.libc().fcntl(fd, LibC.F_GETFL, 0);
            Native.libc().fcntl(fd, LibC.F_SETFL, fl | LibC.O_NONBLOCK);
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            deleteTree(dir);
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            deleteTree(dir);
            throw new IOException("interrupted while starting passt");
        }
        LOG.log(System.Logger.Level.DEBUG, "{0}: passt pid {1} on {2}", name, p.pid(), socket);
        return new Passt(p, dir, fd);
    }

    private static String spec(List<PortForward> ports, PortForward.Protocol proto) {
        return ports.stream().filter(f -> f.protocol() == proto).map(PortForward::passtSpec)
                .collect(Collectors.joining(","));
    }

    /** passt started as root changes to nobody before it creates its socket: let that user write there. */
    private static boolean giveToNobody(Path dir) {
        try {
            UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
            PosixFileAttributeView v = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
            v.setOwner(users.lookupPrincipalByName("nobody"));
            try {
                GroupPrincipal g = users.lookupPrincipalByGroupName("nogroup");
                v.setGroup(g);
            } catch (IOException e) {
                // the owner is what matters
            }
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** A blocking connect to a UNIX stream socket; the descriptor, or -1 when nobody listens yet. */
    private static int connect(Path socket) throws IOException {
        byte[] path = socket.toString().getBytes(StandardCharsets.UTF_8);
        if (path.length >= SOCKADDR_UN - 2) {
            throw new IOException("socket path too long: " + socket);
        }
        int s = Native.libc().socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (s < 0) {
            throw new IOException("socket(AF_UNIX): " + Native.strerror(Native.errno()));
        }
        NativeStruct addr = new NativeStruct(SOCKADDR_UN);
        addr.buf().putShort(0, (short) LibC.AF_UNIX);
        addr.buf().put(2, path);
        if (Native.libc().connect(s, addr.address(), SOCKADDR_UN) < 0) {
            Native.libc().close(s);
            return -1;
        }
        return s;
    }

    private static String tail(Path log) {
        try {
            String s = Files.readString(log, StandardCharsets.UTF_8).strip();
            // passt started from a non-terminal also tries the system logger; those complaints say nothing
            s = s.lines().filter(l -> !l.startsWith("Failed to send")).collect(Collectors.joining(" / "));
            return s.length() > 400 ? s.substring(s.length() - 400) : s;
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a temporary directory: left behind at worst
        }
    }

    public long pid() {
        return process.pid();
    }

    @Override
    public String hostInterface() {
        return "passt:" + process.pid();
    }

    @Override
    public String describe() {
        return "passt " + process.pid();
    }

    @Override
    public int pollFd() {
        return fd;
    }

    @Override
    public boolean vnetHeader() {
        return false;
    }

    @Override
    public boolean offloadsAvailable() {
        return false;
    }

    @Override
    public void setOffloads(int tunFlags) {
        // passt hands the guest whole frames with their checksums computed
    }

    @Override
    public int receive(IoVec iov) {
        if (broken) {
            return -1;
        }
        // The length: 4 bytes, which may come in pieces.
        while (lenHave < 4) {
            long n = Native.libc().read(fd, lenIn.address() + lenHave, 4 - lenHave);
            if (n > 0) {
                lenHave += (int) n;
                continue;
            }
            if (n == 0) {
                return -1; // passt went away
            }
            int e = Native.errno();
            if (e == LibC.EINTR) {
                continue;
            }
            if (e != LibC.EAGAIN) {
                return -1;
            }
            if (lenHave == 0) {
                return 0; // nothing waits
            }
            if (!await(LibC.POLLIN)) {
                return -1;
            }
        }
        int len = Integer.reverseBytes(lenIn.buf().getInt(0)); // big-endian on the wire
        lenHave = 0;
        if (len <= 0 || len > MAX_FRAME) {
            LOG.log(System.Logger.Level.WARNING, describe() + ": frame length " + len + " out of step; giving up");
            return -1;
        }
        // The frame: straight into the iovec, what does not fit (never, with the device's spill) discarded.
        long done = 0;
        while (done < len) {
            inWindow.clear();
            if (done < iov.bytes()) {
                window(inWindow, iov, done, Math.min(len, iov.bytes()) - done);
            } else {
                inWindow.add(discard.address(), Math.min(len - done, discard.size()));
            }
            long n = Native.libc().readv(fd, inWindow.address(), inWindow.count());
            if (n > 0) {
                done += n;
                continue;
            }
            if (n == 0) {
                return -1;
            }
            int e = Native.errno();
            if (e == LibC.EINTR) {
                continue;
            }
            if (e != LibC.EAGAIN || !await(LibC.POLLIN)) {
                return -1;
            }
        }
        return len;
    }

    @Override
    public boolean send(IoVec iov) {
        if (closed || broken) {
            return false;
        }
        long total = iov.bytes();
        lenOut.buf().putInt(0, Integer.reverseBytes((int) total)); // big-endian on the wire
        outStream.clear();
        outStream.add(lenOut.address(), 4);
        boolean whole = outStream.addFrom(iov, 0);
        long done = 0;
        while (done < 4 + total) {
            outWindow.clear();
            if (whole) {
                window(outWindow, outStream, done, 4 + total - done);
            } else if (done < 4) {
                outWindow.add(lenOut.address() + done, 4 - done); // more pieces than one call: length first
            } else {
                window(outWindow, iov, done - 4, total - (done - 4));
            }
            msg.clear();
            msg.buf().putLong(16, outWindow.address());
            msg.buf().putLong(24, outWindow.count());
            long n = Native.libc().sendmsg(fd, msg.address(), LibC.MSG_NOSIGNAL | LibC.MSG_DONTWAIT);
            if (n > 0) {
                done += n;
                continue;
            }
            int e = n < 0 ? Native.errno() : LibC.EAGAIN;
            if (e == LibC.EINTR) {
                continue;
            }
            if (e == LibC.EAGAIN && done == 0) {
                return false; // passt is not reading: drop this frame, the stream stays whole
            }
            if (e != LibC.EAGAIN || !await(LibC.POLLOUT)) {
                // Half a frame sent and passt stuck or gone: the stream cannot be resynchronised.
                LOG.log(System.Logger.Level.WARNING, describe() + ": stream broken while sending: " + Native.strerror(e));
                broken = true;
                return false;
            }
        }
        return true;
    }

    /** Fills {@code dst} with the part of {@code src} from byte {@code skip}, at most {@code max} bytes. */
    private static void window(IoVec dst, IoVec src, long skip, long max) {
        long added = 0;
        for (int i = 0; i < src.count() && added < max; i++) {
            long len = src.length(i);
            if (skip >= len) {
                skip -= len;
                continue;
            }
            long n = Math.min(len - skip, max - added);
            if (!dst.add(src.base(i) + skip, n)) {
                return; // full: the rest in the next call
            }
            added += n;
            skip = 0;
        }
    }

    private boolean await(short events) {
        pfd.buf().putInt(0, fd);
        pfd.buf().putShort(4, events);
        pfd.buf().putShort(6, (short) 0);
        int r = Native.libc().poll(pfd.address(), 1, STREAM_WAIT_MS);
        return r > 0 && (pfd.buf().getShort(6) & events) != 0;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Native.libc().close(fd);
        try {
            if (!process.waitFor(2, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        deleteTree(dir);
    }
}
