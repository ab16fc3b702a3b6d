package dev.apiary.agent.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The command lines the launchers build. The host-systemd one cannot run here (no systemd as PID 1); what it must
 * hold is checked word by word: the host's namespaces, one unit per VM that systemd forgets once it ended, the exit
 * status passed through, the log file, and the VMM's root and bind mounts.
 */
class VmmLauncherTest {
    static final RunDir DIR = new RunDir(Path.of("/run/apiary/0f1e2d3c-aaaa-bbbb-cccc-000000000001"));
    static final List<String> VMM = List.of("/opt/apiary/bin/vmm", "launch", "--runtime-dir", DIR.path().toString(),
            "--image-root", "/var/lib/apiary/images");

    @Test
    void setsidRunsTheVmmInPlace() {
        List<String> cmd = new VmmLauncher.Setsid().command(DIR, VMM);
        // setsid execs (the JVM leads the process group), so the child's pid is the VMM's.
        assertEquals(VMM, cmd.subList(cmd.size() - VMM.size(), cmd.size()));
        assertTrue(cmd.size() == VMM.size() || cmd.get(0).equals("setsid"), cmd.toString());
    }

    @Test
    void hostSystemdEntersTheHostAndWaitsForATransientUnitPerVm() {
        var l = new VmmLauncher.HostSystemd(Path.of("/var/lib/apiary/vmm-root/abc"),
                List.of(Path.of("/run/apiary"), Path.of("/var/lib/apiary/images")));
        List<String> cmd = l.command(DIR, VMM);
        assertEquals(List.of("nsenter", "--target", "1", "--mount", "--", "systemd-run"), cmd.subList(0, 6));
        int sep = cmd.lastIndexOf("--");
        List<String> opts = cmd.subList(6, sep);
        assertEquals(VMM, cmd.subList(sep + 1, cmd.size()));
        assertTrue(opts.containsAll(List.of("--wait", "--collect", "--quiet", "--service-type=exec",
                "--unit=apiary-vm-0f1e2d3c-aaaa-bbbb-cccc-000000000001.service", "--slice=apiary.slice",
                "--working-directory=" + DIR.path(),
                "--property=StandardOutput=append:" + DIR.path() + "/vmm.log",
                "--property=StandardError=append:" + DIR.path() + "/vmm.log",
                "--property=StandardInput=null", "--property=KillMode=mixed", "--property=Restart=no",
                "--property=RootDirectory=/var/lib/apiary/vmm-root/abc", "--property=MountAPIVFS=yes",
                "--property=BindPaths=/run/apiary", "--property=BindPaths=/var/lib/apiary/images")), opts.toString());
        // The runtime directory is on the command line: after a restart the agent recognises the process by it.
        assertTrue(String.join(" ", cmd).contains(DIR.path().toString()));
    }

    @Test
    void hostSystemdWithoutAStagedRootUsesTheHostsOwn() {
        List<String> cmd = new VmmLauncher.HostSystemd(null, List.of(Path.of("/run/apiary"))).command(DIR, VMM);
        assertTrue(cmd.stream().noneMatch(w -> w.startsWith("--property=RootDirectory")
                || w.startsWith("--property=BindPaths")), cmd.toString());
    }

    @Test
    void theSettingNamesTheLauncher() {
        assertInstanceOf(VmmLauncher.Setsid.class, VmmLauncher.of(null, null, List.of()));
        assertInstanceOf(VmmLauncher.Setsid.class, VmmLauncher.of("setsid", null, List.of()));
        assertEquals("host-systemd", VmmLauncher.of("host-systemd", null, List.of()).name());
        var e = assertThrows(IllegalArgumentException.class, () -> VmmLauncher.of("systemd", null, List.of()));
        assertTrue(e.getMessage().contains("setsid or host-systemd"), e.getMessage());
    }
}
