package dev.apiary.vmm.intc;

import dev.apiary.vmm.x86.VcpuSignals;
import java.util.ArrayList;
import java.util.List;

/** A vCPU that remembers what its interrupt controllers told it. */
final class RecordingSignals implements VcpuSignals {
    int interruptPending;
    int nmis;
    int inits;
    final List<Integer> startups = new ArrayList<>();

    @Override
    public synchronized void interruptPending() {
        interruptPending++;
    }

    @Override
    public synchronized void nmi() {
        nmis++;
    }

    @Override
    public synchronized void init() {
        inits++;
    }

    @Override
    public synchronized void startup(int vector) {
        startups.add(vector);
    }
}
