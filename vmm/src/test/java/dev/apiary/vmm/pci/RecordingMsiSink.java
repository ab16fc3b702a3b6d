package dev.apiary.vmm.pci;

import dev.apiary.vmm.device.MsiSink;
import java.util.ArrayList;
import java.util.List;

/** A fake MSI delivery path recording every message (for device tests). */
public final class RecordingMsiSink implements MsiSink {
    public record Message(long address, int data) {}

    private final List<Message> messages = new ArrayList<>();

    @Override
    public synchronized void signal(long address, int data) {
        messages.add(new Message(address, data));
    }

    public synchronized List<Message> messages() {
        return List.copyOf(messages);
    }

    public synchronized void clear() {
        messages.clear();
    }
}
