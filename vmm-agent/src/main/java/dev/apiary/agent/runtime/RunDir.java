package dev.apiary.agent.runtime;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * One VM's runtime directory: the files of docs/vmm-process.md (written by the VMM) and the agent's own
 * ({@code agent.json}, {@code stop.json}, {@code agent-exit.json}). Reads are tolerant: a file that is missing or
 * half-written reads as absent, and the next look sees it whole (the VMM writes by rename).
 */
public record RunDir(Path path) {
    static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    public static final String SPEC = "spec.json";
    public static final String STATE = "state.json";
    public static final String EXIT = "exit.json";
    public static final String PID = "vmm.pid";
    public static final String SERIAL = "serial.log";
    public static final String SERIAL_OFFSET = "serial.offset";
    public static final String CONTROL = "control.sock";
    public static final String SERIAL_SOCKET = "serial.sock";
    public static final String VNC_SOCKET = "vnc.sock";
    public static final String VMM_LOG = "vmm.log";
    public static final String AGENT = "agent.json";
    public static final String STOP = "stop.json";
    public static final String REAPED = "agent-exit.json";
    /** What a new run must not inherit from the last one. */
    private static final List<String> PER_RUN = List.of(STATE, EXIT, PID, SERIAL, SERIAL_OFFSET, CONTROL,
            SERIAL_SOCKET, VNC_SOCKET, STOP, REAPED, AGENT);

    public static RunDir of(Path root, String uid) {
        if (uid == null || !uid.matches("[A-Za-z0-9-]{1,64}")) {
            throw new IllegalArgumentException("not a usable uid for a directory name: " + uid);
        }
        return new RunDir(root.resolve(uid));
    }

    /** The runtime directories under {@code root} that carry an agent.json (others are not the agent's). */
    public static List<RunDir> scan(Path root) {
        if (!Files.isDirectory(root)) return List.of();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            List<RunDir> out = new java.util.ArrayList<>();
            for (Path p : ds) {
                if (Files.isRegularFile(p.resolve(AGENT))) out.add(new RunDir(p));
            }
            out.sort(Comparator.comparing(RunDir::path));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path file(String name) {
        return path.resolve(name);
    }

    public String uid() {
        return path.getFileName().toString();
    }

    public RunIdentity identity() {
        return read(AGENT, RunIdentity.class);
    }

    public VmmState state() {
        return read(STATE, VmmState.class);
    }

    public VmmExit exit() {
        return read(EXIT, VmmExit.class);
    }

    public StopRequest stopRequest() {
        return read(STOP, StopRequest.class);
    }

    public ReapedExit reaped() {
        return read(REAPED, ReapedExit.class);
    }

    /** The VMM's pid from vmm.pid, else the one the agent recorded at launch. */
    public Long pid() {
        try {
            String s = Files.readString(file(PID)).trim();
            if (!s.isEmpty()) return Long.parseLong(s);
        } catch (NoSuchFileException e) {
            // not written yet
        } catch (IOException | NumberFormatException e) {
            // half-written: fall back
        }
        RunIdentity id = identity();
        return id == null ? null : id.pid();
    }

    /** The last non-empty line of vmm.log: the VMM's own error line when it failed to start. */
    public String lastLogLine() {
        Path log = file(VMM_LOG);
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            int n = (int) Math.min(len, 8192);
            byte[] b = new byte[n];
            f.seek(len - n);
            f.readFully(b);
            String[] lines = new String(b, StandardCharsets.UTF_8).split("\n");
            for (int i = lines.length - 1; i >= 0; i--) {
                if (!lines[i].isBlank()) return lines[i].strip();
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Absolute offset of the first byte in serial.log (serial.offset, absent = 0). */
    public long serialStart() {
        try {
            return Long.parseLong(Files.readString(file(SERIAL_OFFSET)).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Empties the directory of the last run's files and writes the new run's spec and identity. */
    public void prepare(byte[] specJson, RunIdentity id) throws IOException {
        Files.createDirectories(path);
        for (String f : PER_RUN) Files.deleteIfExists(file(f));
        // Keep the last run's VMM log for troubleshooting, one generation deep.
        if (Files.exists(file(VMM_LOG))) {
            Files.move(file(VMM_LOG), file(VMM_LOG + ".previous"), StandardCopyOption.REPLACE_EXISTING);
        }
        writeAtomically(SPEC, specJson);
        write(AGENT, id);
    }

    public void write(String name, Object value) throws IOException {
        writeAtomically(name, JSON.writeValueAsBytes(value));
    }

    private void writeAtomically(String name, byte[] content) throws IOException {
        Path tmp = file("." + name + ".tmp");
        Files.write(tmp, content);
        try {
            Files.move(tmp, file(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file(name), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Removes the directory and everything in it. */
    public void delete() throws IOException {
        if (!Files.exists(path)) return;
        try (Stream<Path> s = Files.walk(path)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private <T> T read(String name, Class<T> type) {
        try {
            byte[] b = Files.readAllBytes(file(name));
            return b.length == 0 ? null : JSON.readValue(b, type);
        } catch (IOException e) {
            return null;
        }
    }
}
