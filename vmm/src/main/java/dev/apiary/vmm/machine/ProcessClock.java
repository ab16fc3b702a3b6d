package dev.apiary.vmm.machine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Time since this process started, to 10 ms: {@code /proc/uptime} now minus the start time in
 * {@code /proc/self/stat} (clock ticks since boot). {@code ProcessHandle.Info.startInstant()} is not good
 * enough for boot timings: it adds the boot time, which Linux gives in whole seconds.
 */
public final class ProcessClock {
    private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux/x86

    private ProcessClock() {}

    /** Milliseconds since the process (the launcher script, when it exec'd the JVM) started, or -1. */
    public static long millisSinceStart() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Field 22 (starttime) counted after the command name, which is in parentheses and may hold spaces.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            double startSeconds = Long.parseLong(f[19]) / TICKS_PER_SECOND;
            double uptime = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
            return Math.round((uptime - startSeconds) * 1000);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
