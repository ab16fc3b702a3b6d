package dev.apiary.vmm.cli;

import java.io.ByteArrayOutputStream;

/**
 * Splits console keystrokes into bytes for the guest and commands for the VMM, with Ctrl-A as the escape
 * prefix (as QEMU and screen do): Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A h prints help;
 * everything else, Ctrl-C included, goes to the guest.
 */
public final class EscapeDecoder {
    public static final int CTRL_A = 0x01;

    public enum Command { NONE, QUIT, HELP }

    /** Bytes for the guest and at most one command, from one chunk of input. */
    public record Decoded(byte[] toGuest, Command command) {}

    private boolean escaped;

    public Decoded decode(byte[] in, int off, int len) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(len);
        for (int i = off; i < off + len; i++) {
            int b = in[i] & 0xFF;
            if (escaped) {
                escaped = false;
                switch (b) {
                    case 'x':
                    case 'X':
                        return new Decoded(out.toByteArray(), Command.QUIT);
                    case CTRL_A:
                        out.write(CTRL_A);
                        break;
                    case 'h':
                    case 'H':
                    case '?':
                        // Keep decoding the rest after reporting; help is informational.
                        byte[] rest = new byte[off + len - i - 1];
                        System.arraycopy(in, i + 1, rest, 0, rest.length);
                        Decoded tail = decode(rest, 0, rest.length);
                        out.writeBytes(tail.toGuest());
                        return new Decoded(out.toByteArray(), tail.command() == Command.NONE ? Command.HELP : tail.command());
                    default:
                        break; // unknown escape: dropped, like QEMU
                }
            } else if (b == CTRL_A) {
                escaped = true;
            } else {
                out.write(b);
            }
        }
        return new Decoded(out.toByteArray(), Command.NONE);
    }

    public static String help() {
        return "Ctrl-A x: quit the VMM   Ctrl-A Ctrl-A: send Ctrl-A to the guest   Ctrl-A h: this help";
    }
}
