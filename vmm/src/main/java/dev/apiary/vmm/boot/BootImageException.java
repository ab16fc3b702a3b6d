package dev.apiary.vmm.boot;

/**
 * The boot boundary's error: a kernel, initrd or command line that cannot be booted in this machine. The
 * message names the file (or the item) and the reason, so it can be shown to a user as is.
 */
public final class BootImageException extends Exception {
    public BootImageException(String message) {
        super(message);
    }

    public BootImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
