#!/usr/bin/env python3
"""Software-CPU benchmark: Apiary's emulated accelerator (`bin/vmm run --accel emulated`) against QEMU TCG
(`-accel tcg -cpu max -M pc`) on the same guest-kit image, command line, vCPUs and memory, interleaved in one
run. Prints medians and ratios (apiary / qemu: above 1 means Apiary is slower for times, faster for rates).

  bench/emulator/run.py [--runs N] [--cpus N] [--memory MiB]

Figures:
  boot-to-done  process start -> "KIT done" with the kit's default checks (CPUs through INIT/SIPI, e820,
                PCI, ACPI, RTC, PM timer, interrupts, boot parameters): the issue's headline figure
  int           guest instructions per second in the kit's integer loop (18 known instructions an iteration)
  copy          bytes per second of the kit's byte-copy loop (loads, stores, pointer arithmetic)
  pf            one #PF round trip (CPL3 load from a not-present page, CPL0 handler, IRETQ), ns
  pio           one IN from CPL3 through the kit's #GP port-I/O path to the VMM's bus and back, ns
"""
import argparse, os, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KIT = os.path.join(ROOT, "guestkit", "target", "apiary-kit.bzImage")
QEMU = "qemu-system-x86_64"
DONE = b"KIT done"


def timed(cmd):
    """Runs cmd; returns (seconds to the "KIT done" line, output)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = None
    out = b""
    for line in iter(p.stdout.readline, b""):
        out += line
        if done is None and DONE in line:
            done = time.monotonic() - t0
    err = p.stderr.read()
    p.wait(timeout=600)
    if p.returncode != 0 or done is None:
        raise RuntimeError("%s exited %d without KIT done:\n%s\n%s" % (
            cmd[0], p.returncode, out.decode(errors="replace"), err.decode(errors="replace")))
    return done, out.decode(errors="replace")


def manifest(path, cmdline, cpus, mem):
    with open(path, "w") as f:
        f.write("""apiVersion: apiary.dev/v1alpha1
kind: VirtualMachine
metadata: {name: bench}
spec:
  accelerator: Emulated
  cpus: %d
  memory: %dMi
  boot:
    kernel: {path: %s, cmdline: "%s"}
""" % (cpus, mem, KIT, cmdline))
    return path


def qemu(cmdline, cpus, mem):
    return [QEMU, "-accel", "tcg", "-cpu", "max", "-M", "pc", "-m", str(mem), "-smp", str(cpus),
            "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot", "-kernel", KIT,
            "-append", cmdline]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--memory", type=int, default=256)
    a = ap.parse_args()
    if not os.path.exists(KIT):
        sys.exit("build first: mvn -q -DskipTests install")
    boot_cmdline = "kit.exit=poweroff"
    bench_cmdline = "kit.tests=cpubench kit.exit=poweroff"
    with tempfile.TemporaryDirectory() as tmp:
        vmm = os.path.join(ROOT, "bin", "vmm")
        contenders = {
            "boot": {"apiary": [vmm, "run", manifest(tmp + "/boot.yaml", boot_cmdline, a.cpus, a.memory)],
                     "qemu-tcg": qemu(boot_cmdline, a.cpus, a.memory)},
            "cpubench": {"apiary": [vmm, "run", manifest(tmp + "/bench.yaml", bench_cmdline, a.cpus, a.memory)],
                         "qemu-tcg": qemu(bench_cmdline, a.cpus, a.memory)},
        }
        done = {k: [] for k in ("apiary", "qemu-tcg")}
        fig = {k: {f: [] for f in ("int_ips", "copy_bps", "pf_ns", "pio_ns")} for k in ("apiary", "qemu-tcg")}
        for i in range(a.runs):
            for name in ("apiary", "qemu-tcg"):        # interleaved: drift hits both alike
                t, _ = timed(contenders["boot"][name])
                done[name].append(t)
                _, out = timed(contenders["cpubench"][name])
                m = re.search(r"KIT cpubench ok (.*)", out)
                if not m:
                    raise RuntimeError("no cpubench line from %s:\n%s" % (name, out))
                for f in fig[name]:
                    fig[name][f].append(int(re.search(f + r"=(\d+)", m.group(1)).group(1)))

    med = statistics.median
    print("software CPU: %d runs each, %d vCPUs, %d MiB, guest kit; apiary --accel emulated vs qemu -accel tcg"
          % (a.runs, a.cpus, a.memory))
    print("%-22s %16s %16s %10s" % ("", "apiary", "qemu-tcg", "ratio"))
    ad, qd = med(done["apiary"]), med(done["qemu-tcg"])
    print("%-22s %13.0f ms %13.0f ms %10.2f" % ("boot-to-done (time)", ad * 1e3, qd * 1e3, ad / qd))
    ai, qi = med(fig["apiary"]["int_ips"]), med(fig["qemu-tcg"]["int_ips"])
    print("%-22s %14.1f M %14.1f M %10.3f" % ("int instructions/s", ai / 1e6, qi / 1e6, ai / qi))
    ac, qc = med(fig["apiary"]["copy_bps"]), med(fig["qemu-tcg"]["copy_bps"])
    print("%-22s %12.1f MB/s %12.1f MB/s %8.3f" % ("byte copy (rate)", ac / 1e6, qc / 1e6, ac / qc))
    for f, label in (("pf_ns", "#PF round trip (time)"), ("pio_ns", "port I/O (time)")):
        x, y = med(fig["apiary"][f]), med(fig["qemu-tcg"][f])
        print("%-22s %13.0f ns %13.0f ns %10.2f" % (label, x, y, x / y if y else float("nan")))


if __name__ == "__main__":
    main()
