package dev.apiary.vmm.machine;

import dev.apiary.vmm.cpu.GuestStop;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a machine while talking to it over COM1 like a person at a terminal: each step waits for a text on the
 * console (counted from where the previous step matched, ANSI escape sequences left out: the UEFI console
 * colours words inside its sentences), then types an answer. A watchdog stops a guest that hangs; it is a
 * guard, not a measurement, so it is generous.
 */
final class SerialDialog {
    /** Wait for {@code expect} on the console, then type {@code send} (may be empty). */
    record Step(String expect, String send) {}

    record Result(GuestStop stop, String output, int stepsDone) {
        /** The console text with ANSI escape sequences (the UEFI console's colours and cursor moves) removed. */
        String plain() {
            return output.replaceAll("\u001b\\[[0-9;=?]*[A-Za-z]", "");
        }
    }

    private final List<Step> steps = new ArrayList<>();

    SerialDialog expect(String text, String send) {
        steps.add(new Step(text, send));
        return this;
    }

    Result run(Machine m, long watchdogSeconds) {
        StringBuilder out = new StringBuilder();
        StringBuilder plain = new StringBuilder();
        int[] escape = {0}; // 0: text, 1: after ESC, 2: inside a CSI sequence
        int[] step = {0};
        int[] from = {0};
        Thread typist = new Thread(() -> {
            try {
                while (true) {
                    String send;
                    synchronized (out) {
                        while (step[0] < steps.size() && plain.indexOf(steps.get(step[0]).expect(), from[0]) < 0) {
                            out.wait();
                        }
                        if (step[0] >= steps.size()) {
                            return;
                        }
                        Step s = steps.get(step[0]);
                        from[0] = plain.indexOf(s.expect(), from[0]) + s.expect().length();
                        step[0]++;
                        send = s.send();
                    }
                    if (!send.isEmpty()) {
                        m.serialConsole().input(send.getBytes(StandardCharsets.ISO_8859_1));
                    }
                }
            } catch (InterruptedException e) {
                // the run is over
            }
        }, "serial-dialog");
        typist.setDaemon(true);
        m.serialConsole().addListener((b, off, len) -> {
            synchronized (out) {
                for (int i = off; i < off + len; i++) {
                    char c = (char) (b[i] & 0xFF);
                    out.append(c);
                    if (escape[0] == 0 && c == 0x1B) {
                        escape[0] = 1;
                    } else if (escape[0] == 1) {
                        escape[0] = c == '[' ? 2 : 0;
                    } else if (escape[0] == 2) {
                        escape[0] = Character.isLetter(c) ? 0 : 2;
                    } else {
                        plain.append(c);
                    }
                }
                out.notifyAll();
            }
        });
        Thread watchdog = new Thread(() -> {
            try {
                TimeUnit.SECONDS.sleep(watchdogSeconds);
                m.stop("watchdog after " + watchdogSeconds + " s");
            } catch (InterruptedException e) {
                // finished in time
            }
        }, "watchdog");
        watchdog.setDaemon(true);
        typist.start();
        watchdog.start();
        GuestStop stop = m.run();
        watchdog.interrupt();
        typist.interrupt();
        synchronized (out) {
            return new Result(stop, out.toString(), step[0]);
        }
    }
}
