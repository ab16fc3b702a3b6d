package dev.apiary.vmm.net;

import dev.apiary.vmm.os.EventFd;
import dev.apiary.vmm.os.NativeStruct;
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

    @Override
    public synchronized int receive(NativeStruct buf, int offset) {
        byte[] f = inbound.poll();
        if (inbound.isEmpty()) {
            readable.await(); // non-blocking: no longer readable
        }
        if (f == null) {
            return 0;
        }
        buf.buf().put(offset, f);
        return f.length;
    }

    @Override
    public synchronized boolean send(NativeStruct buf, int offset, int length) {
        byte[] b = new byte[length];
        buf.buf().get(offset, b);
        sent.add(b);
        return true;
    }

    @Override
    public void close() {
        readable.close();
    }
}
