#!/usr/bin/env python3
"""Boot benchmark: Apiary's `bin/vmm run` against QEMU (-M microvm and -M pc, KVM) on the same guest-kit
image, command line, vCPUs and memory, interleaved in one run. Prints medians and ratios.

  bench/boot/run.py [--runs N] [--cpus N] [--memory MiB]

Figures:
  first marker  process start -> the guest's first line on COM1 ("KIT start")
  exit          process start -> process exit after the guest powered off
  mmio exit     one guest MMIO read from CPL3 to an address no device claims: a full exit to the VMM's
                userspace and back (kit test "exits"), as round trips per second
"""
import argparse, os, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KIT = os.path.join(ROOT, "guestkit", "target", "apiary-kit.bzImage")
QEMU = "qemu-system-x86_64"


def timed(cmd, marker=b"KIT start"):
    """Runs cmd; returns (seconds to the first line containing marker, seconds to exit, output)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = None
    out = b""
    for line in iter(p.stdout.readline, b""):
        out += line
        if first is None and marker in line:
            first = time.monotonic() - t0
    p.wait(timeout=300)
    total = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s" % (cmd[0], p.returncode, out.decode(errors="replace")))
    return first, total, out.decode(errors="replace")


def manifest(tmp, cmdline, cpus, mem):
    path = os.path.join(tmp, "bench.yaml")
    with open(path, "w") as f:
        f.write("""apiVersion: apiary.dev/v1alpha1
kind: VirtualMachine
metadata: {name: bench}
spec:
  cpus: %d
  memory: %dMi
  boot:
    kernel: {path: %s, cmdline: "%s"}
""" % (cpus, mem, KIT, cmdline))
    return path


def qemu(machine, cmdline, cpus, mem):
    cmd = [QEMU, "-M", machine, "-enable-kvm", "-cpu", "host,-arch-capabilities", "-m", str(mem), "-smp", str(cpus),
           "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot", "-kernel", KIT, "-append", cmdline]
    if machine == "microvm":
        cmd[1:1] = ["-nodefaults", "-no-user-config"]
    return cmd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--memory", type=int, default=256)
    a = ap.parse_args()
    if not os.path.exists(KIT):
        sys.exit("build first: mvn -q -DskipTests install")
    boot_cmdline = "kit.tests=banner kit.exit=poweroff"
    exit_cmdline = "kit.tests=exits kit.exit=poweroff"
    with tempfile.TemporaryDirectory() as tmp:
        vmm = [os.path.join(ROOT, "bin", "vmm"), "run", manifest(tmp, boot_cmdline, a.cpus, a.memory)]
        vmm_exits = [os.path.join(ROOT, "bin", "vmm"), "run", manifest(tmp + "/", exit_cmdline, a.cpus, a.memory)]
        contenders = {
            "apiary": vmm,
            "qemu-microvm": qemu("microvm", boot_cmdline, a.cpus, a.memory),
            "qemu-pc": qemu("pc", boot_cmdline, a.cpus, a.memory),
        }
        first = {k: [] for k in contenders}
        total = {k: [] for k in contenders}
        for i in range(a.runs):
            for name, cmd in contenders.items():          # interleaved: drift hits every contender alike
                f, t, _ = timed(cmd)
                first[name].append(f)
                total[name].append(t)
        exits = {"apiary": [], "qemu-pc": []}
        for i in range(max(1, a.runs // 2)):
            for name, cmd in (("apiary", vmm_exits), ("qemu-pc", qemu("pc", exit_cmdline, a.cpus, a.memory))):
                _, _, out = timed(cmd)
                m = re.search(r"KIT exits ok mmio_ns=(\d+)", out)
                exits[name].append(int(m.group(1)))

    med = lambda xs: statistics.median(xs)
    print("boot: %d runs each, %d vCPUs, %d MiB, guest kit `%s`" % (a.runs, a.cpus, a.memory, boot_cmdline))
    print("%-14s %16s %16s" % ("", "first marker", "exit"))
    for name in contenders:
        print("%-14s %14.0f ms %14.0f ms" % (name, med(first[name]) * 1e3, med(total[name]) * 1e3))
    for ref in ("qemu-microvm", "qemu-pc"):
        print("ratio apiary/%-12s first marker %.2f   exit %.2f" % (
            ref, med(first["apiary"]) / med(first[ref]), med(total["apiary"]) / med(total[ref])))
    a_ns, q_ns = med(exits["apiary"]), med(exits["qemu-pc"])
    print("mmio exit round trip: apiary %.1f us (%.0f/s), qemu-pc %.1f us (%.0f/s), rate ratio apiary/qemu %.2f" % (
        a_ns / 1e3, 1e9 / a_ns, q_ns / 1e3, 1e9 / q_ns, q_ns / a_ns))


if __name__ == "__main__":
    main()
