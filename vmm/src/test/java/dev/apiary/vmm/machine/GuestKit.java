package dev.apiary.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.crds.VirtualMachineSpec.RebootPolicy;
import dev.apiary.vmm.cpu.GuestStop;
import dev.apiary.crds.VirtualMachineSpec.Accelerator;
import dev.apiary.vmm.accel.kvm.KvmAccelerator;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Boots guest-kit images on each accelerator this host has and returns what the guest printed: the oracle of
 * VMM tests.
 */
final class GuestKit {
    static final Path ROOT = Path.of(System.getProperty("apiary.root", "..")).toAbsolutePath().normalize();
    static final Path IMAGE = ROOT.resolve("guestkit/target/apiary-kit.bzImage");

    private GuestKit() {}

    /**
     * The accelerators guest tests run on here: the software CPU always, KVM where it is usable (where it is
     * not, the reason is printed once per call).
     */
    static Stream<Accelerator> accelerators() {
        assertTrue(Files.isRegularFile(IMAGE), "guest kit not built: " + IMAGE + " (mvn builds it in guestkit/)");
        String why = KvmAccelerator.unavailableReason();
        if (why != null) {
            System.out.println("KVM cases not run on this host: " + why);
            return Stream.of(Accelerator.Emulated);
        }
        return Stream.of(Accelerator.Emulated, Accelerator.KVM);
    }

    /** For KVM-specific tests only: skips (with the reason printed) where there is no KVM. */
    static void assumeKvm() {
        String why = KvmAccelerator.unavailableReason();
        if (why != null) {
            System.out.println("SKIP: needs /dev/kvm: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
        assertTrue(Files.isRegularFile(IMAGE), "guest kit not built: " + IMAGE + " (mvn builds it in guestkit/)");
    }

    record Run(GuestStop stop, String output, int boots) {
        List<String> lines() {
            return output.lines().map(String::strip).toList();
        }

        /** The first line starting with "KIT name " (or "KIT name" alone). */
        Optional<String> marker(String name) {
            return lines().stream().filter(l -> l.equals("KIT " + name) || l.startsWith("KIT " + name + " ")).findFirst();
        }

        List<String> markers(String name) {
            return lines().stream().filter(l -> l.startsWith("KIT " + name + " ")).toList();
        }

        /** Asserts the marker is there and says ok; returns the rest of the line after "ok". */
        String ok(String name) {
            String m = marker(name).orElseThrow(() -> new AssertionError("no KIT " + name + " marker in:\n" + output));
            assertTrue(m.startsWith("KIT " + name + " ok"), "not ok: " + m + "\n--- guest output:\n" + output);
            return m.substring(("KIT " + name + " ok").length()).strip();
        }

        /** key=value from a marker's text. */
        static String field(String text, String key) {
            Matcher mt = Pattern.compile("(?:^|\\s)" + Pattern.quote(key) + "=(\\S+)").matcher(text);
            if (!mt.find()) {
                throw new AssertionError("no " + key + "= in: " + text);
            }
            return mt.group(1);
        }
    }

    static MachineConfig config(Accelerator accel, int cpus, long memory, String cmdline, RebootPolicy policy) {
        return new MachineConfig("kit", cpus, memory, IMAGE, null, cmdline, policy).withAccelerator(accel);
    }

    static Run boot(Accelerator accel, int cpus, long memory, String cmdline) throws Exception {
        return boot(config(accel, cpus, memory, cmdline, RebootPolicy.Reboot), 180);
    }

    static Run boot(MachineConfig config, int timeoutSeconds) throws Exception {
        return boot(config, timeoutSeconds, m -> { });
    }

    /** Boots and runs to the end; {@code afterRun} sees the machine (its RAM, its devices) before it is closed. */
    static Run boot(MachineConfig config, int timeoutSeconds, java.util.function.Consumer<Machine> afterRun)
            throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Machine m = Machine.create(config)) {
            m.serialConsole().addListener((b, off, len) -> {
                synchronized (out) {
                    out.write(b, off, len);
                }
            });
            Thread watchdog = new Thread(() -> {
                try {
                    TimeUnit.SECONDS.sleep(timeoutSeconds);
                    m.stop("test timeout after " + timeoutSeconds + " s");
                } catch (InterruptedException e) {
                    // finished in time
                }
            });
            watchdog.setDaemon(true);
            watchdog.start();
            GuestStop stop = m.run();
            watchdog.interrupt();
            String text;
            synchronized (out) {
                text = out.toString(StandardCharsets.ISO_8859_1).replace("\r", "");
            }
            afterRun.accept(m);
            System.out.println("--- " + m.accelerator() + ", " + config.cpus() + " vCPU, " + (config.memoryBytes() >> 20) + " MiB, \""
                    + config.cmdline() + "\" → " + stop.describe() + "\n" + text);
            return new Run(stop, text, m.boots());
        }
    }
}
