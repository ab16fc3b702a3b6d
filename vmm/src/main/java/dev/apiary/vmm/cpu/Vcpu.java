package dev.apiary.vmm.cpu;

import dev.apiary.vmm.accel.AccelVcpu;
import dev.apiary.vmm.bus.Bus;
import java.util.function.Consumer;

/**
 * A vCPU thread: runs its {@link AccelVcpu} until the guest's run is over (reported once through
 * {@code onStop}) or the machine asks it to stop (pause, reset, close). Accelerator-neutral: KVM and the
 * software CPU both hand back only stops.
 */
public final class Vcpu {
    private final AccelVcpu accel;
    private final Bus ports;
    private final Bus mmio;
    private final Consumer<GuestStop> onStop;
    private volatile boolean stopRequested;
    private Thread thread;

    public Vcpu(AccelVcpu accel, Bus ports, Bus mmio, Consumer<GuestStop> onStop) {
        this.accel = accel;
        this.ports = ports;
        this.mmio = mmio;
        this.onStop = onStop;
    }

    public AccelVcpu accel() {
        return accel;
    }

    public int index() {
        return accel.index();
    }

    public synchronized void start() {
        stopRequested = false;
        accel.clearKick();
        thread = new Thread(this::loop, "vcpu-" + accel.index());
        thread.setDaemon(true);
        thread.start();
    }

    /** Asks the loop to end and gets the vCPU out of guest execution; {@link #join()} waits for it. */
    public void kick() {
        stopRequested = true;
        accel.kick();
    }

    public void join() throws InterruptedException {
        Thread t = thread;
        if (t == null) {
            return;
        }
        // A kick can land just before the thread enters the guest; keep kicking.
        while (t.isAlive()) {
            accel.kick();
            t.join(20);
        }
    }

    private void loop() {
        try {
            while (!stopRequested) {
                GuestStop stop = accel.run(ports, mmio);
                if (stop != null) {
                    onStop.accept(stop);
                    return;
                }
            }
        } catch (RuntimeException | Error e) {
            onStop.accept(new GuestStop.HostError("vCPU " + accel.index() + ": " + e + describe()));
        }
    }

    private String describe() {
        String d = accel.describe();
        return d.isEmpty() ? "" : "\n" + d;
    }
}
