package dev.apiary.vmm.device;

/** Delivers a message-signalled interrupt (the address/data pair a guest programmed into MSI or MSI-X). */
public interface MsiSink {
    void signal(long address, int data);
}
