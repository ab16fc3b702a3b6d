package dev.apiary.vmm.pci;

import dev.apiary.vmm.device.InterruptLine;
import java.util.ArrayList;
import java.util.List;

/** A fake interrupt controller input that remembers its level and every call (for device tests). */
public final class RecordingInterruptLine implements InterruptLine {
    private final List<Boolean> calls = new ArrayList<>();
    private boolean level;
    private int risingEdges;

    @Override
    public synchronized void set(boolean high) {
        calls.add(high);
        if (high && !level) {
            risingEdges++;
        }
        level = high;
    }

    public synchronized boolean level() {
        return level;
    }

    /** How many times the line went from low to high. */
    public synchronized int risingEdges() {
        return risingEdges;
    }

    public synchronized List<Boolean> calls() {
        return List.copyOf(calls);
    }

    public synchronized void clear() {
        calls.clear();
        risingEdges = 0;
    }
}
