package dev.apiary.kubectlvm;

/** A failure the user sees as one line ("error: …") and exit status 1. */
public final class PluginException extends RuntimeException {
    public PluginException(String message) {
        super(message);
    }
}
