package dev.apiary.vmm.net;

import dev.apiary.vmm.os.EventFd;
import com.kenai.jffi.MemoryIO;
import dev.apiary.vmm.os.IoVec;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/** A backend in memory: frames the test queues are "received", frames the device sends are kept. */
final class FakeBackend implements NetBackend {
    private final EventFd readable = new EventFd(true);
    private final ArrayDeque<byte[]> inbound = new ArrayDeque<>();
    private final List<byte[]> sent = new ArrayList<>();
    private final boolean vnetHeader;

    FakeBackend(boolean vnetHeader) {
        this.vnetHeader = vnetHeader;
    }

    /** Queues a frame for the device to receive (with the 12-byte header when the backend has one). */
    synchronized void inject(byte[] frame) {
        inbound.add(frame);
        readable.signal();
    }

    synchronized List<byte[]> sent() {
        return List.copyOf(sent);
    }

    synchronized int waiting() {
        return inbound.size();
    }

    @Override
    public String describe() {
        return "fake";
    }

    @Override
    public int pollFd() {
        return readable.fd();
    }

    @Override
    public boolean vnetHeader() {
        return vnetHeader;
    }

    @Override
    public boolean offloadsAvailable() {
        return false;
    }

    @Override
    public void setOffloads(int tunFlags) {}

    /** As a TAP does: what fits goes into the iovec's buffers, the whole length is returned. */
    @Override
    public synchronized int receive(IoVec iov) {
        byte[] f = inbound.poll();
        if (inbound.isEmpty()) {
            readable.await(); // non-blocking: no longer readable
        }
        if (f == null) {
            return 0;
        }
        int done = 0;
        for (int i = 0; i < iov.count() && done < f.length; i++) {
            int n = (int) Math.min(iov.length(i), f.length - done);
            MemoryIO.getInstance().putByteArray(iov.base(i), f, done, n);
            done += n;
        }
        return f.length;
    }

    @Override
    public synchronized boolean send(IoVec iov) {
        byte[] b = new byte[(int) iov.bytes()];
        int done = 0;
        for (int i = 0; i < iov.count(); i++) {
            MemoryIO.getInstance().getByteArray(iov.base(i), b, done, (int) iov.length(i));
            done += (int) iov.length(i);
        }
        sent.add(b);
        return true;
    }

    @Override
    public void close() {
        readable.close();
    }
}
