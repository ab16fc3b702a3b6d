package dev.apiary.vmm.bus;

/**
 * A device's register window on a bus. Offsets are relative to where the window is mapped; sizes are 1, 2, 4
 * or 8 bytes. Handlers are called from vCPU threads and must not throw: a guest access a device does not
 * understand reads as all ones and ignores the write (and the device may log it).
 */
public interface IoHandler {
    long read(long offset, int size);

    void write(long offset, int size, long value);
}
