#!/usr/bin/env python3
"""OVMF to the UEFI Shell: Apiary's software CPU (`bin/vmm run --accel emulated`, boot.firmware) against QEMU
TCG (`-accel tcg -M pc` with the same two pflash units) on Debian's OVMF_CODE_4M.fd and a fresh copy of
OVMF_VARS_4M.fd each run, interleaved. Both get ESC when the shell offers startup.nsh, so the 5-second countdown
is not measured. Prints medians and the ratio (apiary / qemu: above 1 means Apiary is slower).

  bench/emulator/ovmf.py [--runs N] [--cpus N] [--memory MiB]

Figures (process start to the first appearance on COM1):
  banner   "UEFI Interactive Shell": SEC, PEI and DXE done, BDS started the shell
  prompt   "Shell>": the shell is ready for a command
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
MARKS = {"banner": b"UEFI Interactive Shell", "prompt": b"Shell>"}


def timed(cmd, timeout=900):
    """Runs cmd with COM1 on stdin/stdout; returns {mark: seconds since start} once the prompt appeared."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    seen, out, esc = {}, b"", False
    try:
        while "prompt" not in seen:
            chunk = p.stdout.read1(4096) if hasattr(p.stdout, "read1") else os.read(p.stdout.fileno(), 4096)
            if not chunk or time.monotonic() - t0 > timeout:
                raise RuntimeError("%s ended without the shell prompt:\n%s" % (cmd[0], out.decode(errors="replace")))
            out += chunk
            for name, text in MARKS.items():
                if name not in seen and text in out:
                    seen[name] = time.monotonic() - t0
            if not esc and b"startup.nsh" in out:
                p.stdin.write(b"\x1b")
                p.stdin.flush()
                esc = True
    finally:
        p.kill()
        p.wait()
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--memory", type=int, default=512)
    a = ap.parse_args()
    if not (os.path.exists(CODE) and os.path.exists(VARS)):
        sys.exit("install Debian's ovmf package first (scripts/install-deps --test)")
    times = {k: {m: [] for m in MARKS} for k in ("apiary", "qemu-tcg")}
    with tempfile.TemporaryDirectory() as tmp:
        manifest = os.path.join(tmp, "uefi.yaml")
        with open(manifest, "w") as f:
            f.write("""apiVersion: apiary.dev/v1alpha1
kind: VirtualMachine
metadata: {name: bench-uefi}
spec:
  accelerator: Emulated
  cpus: %d
  memory: %dMi
  boot:
    firmware: {path: %s, vars: %s}
""" % (a.cpus, a.memory, CODE, VARS))
        vars_copy = os.path.join(tmp, "vars.fd")
        for i in range(a.runs):
            for name in ("apiary", "qemu-tcg"):      # interleaved: drift hits both alike
                if os.path.exists(vars_copy):
                    os.remove(vars_copy)
                if name == "apiary":
                    cmd = [os.path.join(ROOT, "bin", "vmm"), "run", manifest, "--uefi-vars", vars_copy]
                else:
                    shutil.copy(VARS, vars_copy)
                    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-m", str(a.memory),
                           "-smp", str(a.cpus), "-display", "none", "-nodefaults", "-serial", "stdio",
                           "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + CODE,
                           "-drive", "if=pflash,format=raw,unit=1,file=" + vars_copy]
                for m, t in timed(cmd).items():
                    times[name][m].append(t)
    med = statistics.median
    print("OVMF to the UEFI Shell: %d runs each, %d vCPUs, %d MiB; apiary --accel emulated vs qemu -accel tcg"
          % (a.runs, a.cpus, a.memory))
    print("%-22s %14s %14s %10s" % ("", "apiary", "qemu-tcg", "ratio"))
    for m in MARKS:
        x, y = med(times["apiary"][m]), med(times["qemu-tcg"][m])
        print("%-22s %12.1f s %12.1f s %10.1f" % ("to " + m, x, y, x / y))


if __name__ == "__main__":
    main()
