package dev.apiary.vmm.control;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The VM's runtime directory and its files, as docs/vmm-process.md fixes them. Files are replaced atomically. */
public record RuntimeDir(Path dir) {
    static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    public Path spec() {
        return dir.resolve("spec.json");
    }

    public Path pidFile() {
        return dir.resolve("vmm.pid");
    }

    public Path stateFile() {
        return dir.resolve("state.json");
    }

    public Path exitFile() {
        return dir.resolve("exit.json");
    }

    public Path serialLog() {
        return dir.resolve("serial.log");
    }

    public Path serialBoot() {
        return dir.resolve("serial.boot");
    }

    public Path serialOffset() {
        return dir.resolve("serial.offset");
    }

    /** The VM's UEFI variable store (firmware boot): made from the template at the first run, kept across runs. */
    public Path uefiVars() {
        return dir.resolve("uefi-vars.fd");
    }

    public Path controlSocket() {
        return dir.resolve("control.sock");
    }

    public Path serialSocket() {
        return dir.resolve("serial.sock");
    }

    /** RFB (VNC) of the VM's screen, when its spec has {@code display.vnc: true}. */
    public Path vncSocket() {
        return dir.resolve("vnc.sock");
    }

    /** Writes {@code file} via a temporary file and a rename, so readers never see half a file. */
    public static void writeAtomically(Path file, byte[] content) {
        try {
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            Files.write(tmp, content);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void writeJson(Path file, Object value) {
        try {
            writeAtomically(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(value));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
