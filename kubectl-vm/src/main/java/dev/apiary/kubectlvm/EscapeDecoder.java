package dev.apiary.kubectlvm;

import java.io.ByteArrayOutputStream;

/**
 * Keyboard input of {@code kubectl vm console}: Ctrl-] leaves, as does Ctrl-A x (screen's and {@code vmm run}'s
 * habit); Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A and anything else sends both.
 */
public final class EscapeDecoder {
    public static final int CTRL_A = 0x01;
    public static final int CTRL_RIGHT_BRACKET = 0x1d;
    private boolean afterCtrlA;
    private boolean quit;

    /** The bytes to send to the guest for these keystrokes; {@link #quit()} says whether the user asked to leave. */
    public byte[] feed(byte[] in, int len) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < len && !quit; i++) {
            int b = in[i] & 0xff;
            if (afterCtrlA) {
                afterCtrlA = false;
                if (b == 'x' || b == 'X') {
                    quit = true;
                } else if (b == CTRL_A) {
                    out.write(CTRL_A);
                } else {
                    out.write(CTRL_A);
                    out.write(b);
                }
            } else if (b == CTRL_RIGHT_BRACKET) {
                quit = true;
            } else if (b == CTRL_A) {
                afterCtrlA = true;
            } else {
                out.write(b);
            }
        }
        return out.toByteArray();
    }

    public boolean quit() {
        return quit;
    }
}
