package dev.apiary.kubectlvm;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** Puts the controlling terminal in raw mode (stty) for a console session and restores it afterwards. */
final class RawTerminal implements AutoCloseable {
    private final String saved;

    private RawTerminal(String saved) {
        this.saved = saved;
    }

    static RawTerminal enter() {
        if (System.console() == null) return new RawTerminal(null); // not a terminal (piped input): nothing to do
        String s = stty("-g");
        stty("raw -echo");
        return new RawTerminal(s == null ? null : s.strip());
    }

    @Override
    public void close() {
        if (saved != null) stty(saved);
    }

    private static String stty(String args) {
        try {
            Process p = new ProcessBuilder("sh", "-c", "stty " + args + " < /dev/tty").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor(5, TimeUnit.SECONDS);
            return p.exitValue() == 0 ? out : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }
}
