package dev.apiary.crds;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Manifests for checking validation: bad ones (each breaks some rule of the CRD), valid ones, and wrong JSON types.
 * Used by ValidationAgreementTest against the CRD's rules evaluated here, and by the e2e K3sIT against a real API
 * server. Each is a whole VirtualMachine named {@code t} in namespace {@code default}.
 */
public final class ManifestCorpus {
    static final String HEAD = """
            apiVersion: apiary.dev/v1alpha1
            kind: VirtualMachine
            metadata: {name: t, namespace: default}
            """;
    public static final String GOOD = HEAD + """
            spec:
              cpus: 2
              memory: 1Gi
              boot: {kernel: {path: vmlinuz, initrd: initrd.img}}
              disks: [{name: root, image: {path: disks/web.img}}, {name: data, image: {path: ..data/x.img}}]
              networks: [{name: default, model: virtio, backend: tap, macAddress: "52:54:00:12:34:56"}]
            """;
    private static final String LONG = "a".repeat(4097);

    private ManifestCorpus() {}

    public record Case(String name, String yaml) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Case bad(String name, String from, String to) {
        assertTrue(GOOD.contains(from), from);
        return new Case(name, GOOD.replace(from, to));
    }

    private static Case add(String name, String specLines) {
        return new Case(name, GOOD + specLines);
    }

    /** Bad manifests: every rule of the CRD is broken by at least one (ValidationAgreementTest checks that). */
    public static Stream<Case> bad() {
        String kernel = "{kernel: {path: vmlinuz, initrd: initrd.img}}";
        String disks = "[{name: root, image: {path: disks/web.img}}, {name: data, image: {path: ..data/x.img}}]";
        String nets = "[{name: default, model: virtio, backend: tap, macAddress: \"52:54:00:12:34:56\"}]";
        List<Case> c = new ArrayList<>(List.of(
                bad("boot required", "  boot: " + kernel + "\n", ""),
                bad("cpus required", "  cpus: 2\n", ""),
                bad("memory required", "  memory: 1Gi\n", ""),
                bad("nothing required given", "  cpus: 2\n  memory: 1Gi\n  boot: " + kernel + "\n", ""),
                add("accelerator enum", "  accelerator: TCG\n"),
                add("runStrategy enum", "  runStrategy: Sometimes\n"),
                add("rebootPolicy enum", "  rebootPolicy: Panic\n"),
                bad("boot both", kernel, "{kernel: {path: vmlinuz}, firmware: {path: OVMF.fd}}"),
                bad("boot neither", kernel, "{}"),
                bad("firmware path required", kernel, "{firmware: {}}"),
                bad("firmware path pattern", kernel, "{firmware: {path: /usr/share/OVMF.fd}}"),
                bad("firmware path maxLength", kernel, "{firmware: {path: " + LONG + "}}"),
                bad("firmware vars pattern", kernel, "{firmware: {path: OVMF_CODE.fd, vars: ../OVMF_VARS.fd}}"),
                bad("firmware vars maxLength", kernel, "{firmware: {path: OVMF_CODE.fd, vars: " + LONG + "}}"),
                bad("kernel path required", kernel, "{kernel: {cmdline: quiet}}"),
                bad("kernel path pattern", "path: vmlinuz", "path: ../vmlinuz"),
                bad("kernel path maxLength", "path: vmlinuz", "path: " + LONG),
                bad("initrd pattern", "initrd.img", "/boot/initrd.img"),
                bad("initrd pattern dot segment", "initrd.img", "a/./initrd.img"),
                bad("initrd maxLength", "initrd.img", LONG),
                bad("cpus minimum", "cpus: 2", "cpus: 0"),
                bad("cpus maximum", "cpus: 2", "cpus: 65"),
                bad("memory below 64Mi", "memory: 1Gi", "memory: 63Mi"),
                bad("memory int below 64Mi", "memory: 1Gi", "memory: 67108863"),
                bad("memory not a quantity", "memory: 1Gi", "memory: lots"),
                bad("memory two suffixes", "memory: 1Gi", "memory: 1GiB"),
                bad("memory negative", "memory: 1Gi", "memory: -1Gi"),
                bad("disks maxItems", disks, "[" + String.join(", ", Stream.iterate(0, i -> i + 1).limit(17)
                        .map(i -> "{name: d" + i + ", image: {path: d" + i + ".img}}").toList()) + "]"),
                bad("disk names unique", "name: data", "name: root"),
                bad("disk blockSize", "{name: root, image: {path: disks/web.img}}",
                        "{name: root, blockSize: 1024, image: {path: disks/web.img}}"),
                bad("disk bus enum", "{name: root, image: {path: disks/web.img}}",
                        "{name: root, bus: virtio, image: {path: disks/web.img}}"),
                bad("disk image required", "{name: root, image: {path: disks/web.img}}", "{name: root}"),
                bad("disk name required", "{name: root, image: {path: disks/web.img}}", "{image: {path: disks/web.img}}"),
                bad("disk image path required", "{name: root, image: {path: disks/web.img}}", "{name: root, image: {}}"),
                bad("disk image path pattern", "disks/web.img", "disks/../../etc/shadow"),
                bad("disk image path maxLength", "disks/web.img", LONG),
                bad("disk name pattern", "name: root", "name: Root_1"),
                add("display height minimum", "  display: {height: 63}\n"),
                add("display height maximum", "  display: {height: 8193}\n"),
                add("display width minimum", "  display: {width: 10}\n"),
                add("display width maximum", "  display: {width: 100000, height: 768, vnc: true}\n"),
                add("lifecycleRequest action required", "  lifecycleRequest: {id: \"1\"}\n"),
                add("lifecycleRequest id required", "  lifecycleRequest: {action: Start}\n"),
                add("lifecycleRequest action enum", "  lifecycleRequest: {action: Pause, id: \"1\"}\n"),
                add("lifecycleRequest id minLength", "  lifecycleRequest: {action: Start, id: \"\"}\n"),
                add("lifecycleRequest id maxLength", "  lifecycleRequest: {action: Stop, id: \"" + "x".repeat(129) + "\"}\n"),
                bad("networks maxItems", nets, "[" + String.join(", ", Stream.iterate(0, i -> i + 1).limit(9)
                        .map(i -> "{name: n" + i + "}").toList()) + "]"),
                bad("network names unique", nets, "[{name: a}, {name: b}, {name: a}]"),
                bad("network name required", nets, "[{model: virtio}]"),
                bad("network backend pattern", "backend: tap", "backend: passt0"),
                bad("network macAddress pattern", "52:54:00:12:34:56", "52:54:00:12:34"),
                bad("network model pattern", "model: virtio", "model: e1000"),
                bad("network name pattern", "name: default", "name: -default"),
                bad("network tapName pattern", "backend: tap", "backend: tap, tapName: a-very-long-tap-name"),
                add("serial historyBytes negative", "  serial: {historyBytes: -1Mi}\n"),
                add("serial historyBytes negative int", "  serial: {historyBytes: -5}\n"),
                add("serial historyBytes not a quantity", "  serial: {historyBytes: a lot}\n"),
                new Case("many at once", HEAD + """
                        spec:
                          cpus: 99
                          memory: 1Mi
                          boot: {kernel: {path: /vmlinuz}, firmware: {path: x}}
                          disks: [{name: a, image: {path: ../a}}, {name: a, blockSize: 1, image: {path: b}}]
                          networks: [{name: N, macAddress: zz}]
                          display: {width: 1, height: 9999}
                        """)));
        return c.stream();
    }

    public static Stream<Case> valid() {
        return Stream.of(new Case("good", GOOD),
                new Case("firmware boot, smallest memory as an int", HEAD + """
                        spec: {cpus: 1, memory: 67108864, boot: {firmware: {path: fw/OVMF_CODE.fd}}}
                        """),
                new Case("every optional field", HEAD + """
                        spec:
                          runStrategy: Manual
                          accelerator: Emulated
                          rebootPolicy: Stop
                          cpus: 64
                          memory: 64Mi
                          boot: {kernel: {path: .k/vmlinuz, initrd: ...x, cmdline: "console=ttyS0"}}
                          disks: [{name: a-1, bus: nvme, readOnly: true, blockSize: 4096, image: {path: a}}]
                          networks: [{name: n, model: virtio, backend: tap, tapName: tap_0.x-1, macAddress: "AA:bb:cc:dd:ee:ff"}]
                          serial: {historyBytes: 0}
                          display: {vnc: true, width: 64, height: 8192}
                          nodeSelector: {zone: a}
                          lifecycleRequest: {action: Restart, id: "1700000000"}
                        """),
                new Case("quantities in other forms", HEAD + """
                        spec: {cpus: 1, memory: "1e9", boot: {kernel: {path: k}}, serial: {historyBytes: 64Ki}}
                        """));
    }

    /** Values of the wrong JSON type. */
    public static Stream<Case> wrongTypes() {
        return Stream.of(bad("cpus a fraction", "cpus: 2", "cpus: 2.5"),
                bad("cpus a string", "cpus: 2", "cpus: two"),
                bad("memory a fraction", "memory: 1Gi", "memory: 1.5e9"),
                bad("disks an object", "disks: [{name: root, image: {path: disks/web.img}}, {name: data, image: {path: "
                        + "..data/x.img}}]", "disks: {name: root}"),
                bad("readOnly a string", "{name: root, image", "{name: root, readOnly: maybe, image"),
                bad("boot a string", "boot: {kernel: {path: vmlinuz, initrd: initrd.img}}", "boot: vmlinuz"));
    }

}
