package dev.apiary.vmm.cli;

import dev.apiary.vmm.machine.Machine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Arrays;

/**
 * COM1 on the terminal. When stdin is a TTY it is put in raw mode (restored on exit, also on a signal) and
 * Ctrl-A escapes apply; otherwise stdin and stdout are plain byte streams and end of input is not a quit.
 */
public final class TerminalConsole implements AutoCloseable {
    private final boolean tty;
    private final Thread reader;
    private volatile boolean closed;
    private final Thread restoreHook;

    private TerminalConsole(Machine machine, InputStream in, OutputStream out, PrintStream err) {
        this.tty = System.console() != null;
        machine.serialConsole().addListener((b, off, len) -> {
            try {
                out.write(b, off, len);
                out.flush();
            } catch (IOException e) {
                // stdout gone: keep the guest running
            }
        });
        if (tty) {
            stty("raw", "-echo");
            restoreHook = new Thread(() -> stty("sane"));
            Runtime.getRuntime().addShutdownHook(restoreHook);
            err.print("vmm: console on COM1; " + EscapeDecoder.help() + "\r\n");
        } else {
            restoreHook = null;
        }
        reader = new Thread(() -> readLoop(machine, in, err), "console-input");
        reader.setDaemon(true);
        reader.start();
    }

    public static TerminalConsole attach(Machine machine, InputStream in, OutputStream out, PrintStream err) {
        return new TerminalConsole(machine, in, out, err);
    }

    private void readLoop(Machine machine, InputStream in, PrintStream err) {
        EscapeDecoder decoder = new EscapeDecoder();
        byte[] buf = new byte[1024];
        try {
            while (!closed) {
                int n = in.read(buf);
                if (n < 0) {
                    return;
                }
                if (!tty) {
                    machine.serialConsole().input(Arrays.copyOf(buf, n));
                    continue;
                }
                EscapeDecoder.Decoded d = decoder.decode(buf, 0, n);
                if (d.toGuest().length > 0) {
                    machine.serialConsole().input(d.toGuest());
                }
                if (d.command() == EscapeDecoder.Command.QUIT) {
                    machine.stop("console (Ctrl-A x)");
                    return;
                }
                if (d.command() == EscapeDecoder.Command.HELP) {
                    err.print("\r\nvmm: " + EscapeDecoder.help() + "\r\n");
                }
            }
        } catch (IOException e) {
            // stdin closed
        }
    }

    private static void stty(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "stty";
        System.arraycopy(args, 0, cmd, 1, args.length);
        try {
            new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/tty")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor();
        } catch (IOException e) {
            // no stty: the terminal stays cooked, the console still works line by line
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (tty) {
            stty("sane");
            try {
                Runtime.getRuntime().removeShutdownHook(restoreHook);
            } catch (IllegalStateException e) {
                // already shutting down
            }
        }
    }
}
