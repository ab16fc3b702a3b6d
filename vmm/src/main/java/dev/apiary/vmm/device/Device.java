package dev.apiary.vmm.device;

/**
 * The lifecycle every device shares. The machine walks its inventory in order for each operation instead of
 * knowing every device. {@link #name()} is the stable inventory name ({@code pci-nvme-0.5.0},
 * {@code lpc-uart-com1}, …) used in logs, the control API and errors.
 */
public interface Device {
    String name();

    /** Called once, after the machine is assembled and before the first vCPU runs. */
    default void start() {}

    /** Stop doing work on the device's own threads (vCPUs are already paused). */
    default void pause() {}

    default void resume() {}

    /** Return to power-on state (a guest reboot or a reset request). Battery-backed state survives. */
    default void reset() {}

    /** Release threads, files and host resources; the device is not used again. */
    default void stop() {}
}
