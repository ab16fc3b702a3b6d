#!/usr/bin/env python3
"""NVMe benchmark: the guest kit's NVMe load generator (its driver loop runs at CPL3, so it runs at native
speed even on hosts whose KVM emulates kernel mode) against Apiary's NVMe controller and QEMU's
`-device nvme`, on the same image file with the same guest, interleaved in one run; plus the host's own
throughput on the file. Prints medians and ratios.

  bench/nvme/run.py [--runs N] [--secs S] [--image-mib M] [--mode poll|irq] [--dbbuf on|off|both]

--dbbuf: the kit's shadow doorbells (Doorbell Buffer Config + EventIdx; kit.nvme.dbbuf). `on` (the kit's
default: used when the controller offers it, which both do) or `off` (plain doorbells, kit.nvme.dbbuf=no);
`both` runs each VMM both ways, interleaved, and adds the on/off ratio per VMM and the real doorbell writes
per I/O (the kit's rings=, SQ tail + CQ head).

Workloads (kit.nvme.bench): seqread / seqwrite = 1 MiB I/Os at queue depth 1; randread1 / randread32 =
4 KiB random reads at queue depth 1 and 32. Both VMMs use the page cache (QEMU's default cache=writeback;
Apiary's file backend), so the figures measure the VMMs' device paths, not the disk.
"""
import argparse, os, random, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KIT = os.path.join(ROOT, "guestkit", "target", "apiary-kit.bzImage")
WORKLOADS = ["seqread", "seqwrite", "randread1", "randread32"]


def run(cmd, timeout=600):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError("%s exited %d\n%s\n%s" % (cmd[0], p.returncode, out, p.stderr.decode(errors="replace")))
    return out


def parse(out):
    r = {}
    for m in re.finditer(r"KIT nvme-bench (\w+) ok iops=(\d+) mbps=(\d+) ios=(\d+).* rings=(\d+)", out):
        r[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(5)) / max(1, int(m.group(4))))
    missing = [w for w in WORKLOADS if w not in r]
    if missing:
        raise RuntimeError("no result for %s in:\n%s" % (missing, out))
    return r


def host_figures(img, secs):
    """The host's own throughput on the file (page cache, like the VMMs): 1 MiB sequential, 4 KiB random QD1."""
    size = os.path.getsize(img)
    fd = os.open(img, os.O_RDWR)
    try:
        res = {}
        for name, write in (("seqread", False), ("seqwrite", True)):
            buf = b"\xa5" * (1 << 20)
            n, off, t0 = 0, 0, time.monotonic()
            while time.monotonic() - t0 < secs:
                if write:
                    os.pwrite(fd, buf, off)
                else:
                    os.pread(fd, 1 << 20, off)
                off = (off + (1 << 20)) % size
                n += 1
            dt = time.monotonic() - t0
            res[name] = (int(n / dt), int(n / dt))
        n, t0 = 0, time.monotonic()
        blocks = size // 4096
        while time.monotonic() - t0 < secs:
            os.pread(fd, 4096, random.randrange(blocks) * 4096)
            n += 1
        dt = time.monotonic() - t0
        res["randread1"] = (int(n / dt), int(n * 4096 / dt / (1 << 20)))
        return res
    finally:
        os.close(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=int, default=2)
    ap.add_argument("--image-mib", type=int, default=256)
    ap.add_argument("--mode", default="poll")
    ap.add_argument("--dbbuf", default="on", choices=["on", "off", "both"])
    a = ap.parse_args()
    if not os.path.exists(KIT):
        sys.exit("build first: mvn -q -DskipTests install")
    modes = ["on", "off"] if a.dbbuf == "both" else [a.dbbuf]

    def cmdline(db):
        return ("kit.tests=nvme-bench kit.nvme.bench=%s kit.nvme.bench_secs=%d kit.nvme.bench_mode=%s%s kit.exit=poweroff"
                % (",".join(WORKLOADS), a.secs, a.mode, "" if db == "on" else " kit.nvme.dbbuf=no"))
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/var/tmp")) as tmp:
        img = os.path.join(tmp, "bench.img")
        # A written (not sparse) image: reading holes measures the file system, not the device model.
        run(["dd", "if=/dev/zero", "of=" + img, "bs=1M", "count=%d" % a.image_mib, "status=none"])
        contenders = {}
        for db in modes:
            manifest = os.path.join(tmp, "bench-%s.yaml" % db)
            with open(manifest, "w") as f:
                f.write("""kind: VirtualMachine
metadata: {name: nvme-bench}
spec:
  cpus: 2
  memory: 512Mi
  boot:
    kernel: {path: %s, cmdline: "%s"}
  disks:
    - {name: d0, bus: nvme, image: {path: %s}}
""" % (KIT, cmdline(db), img))
            sfx = "" if len(modes) == 1 else "/dbbuf-" + db
            contenders["apiary" + sfx] = [os.path.join(ROOT, "bin", "vmm"), "run", manifest]
            contenders["qemu" + sfx] = [
                "qemu-system-x86_64", "-M", "pc", "-enable-kvm", "-cpu", "host,-arch-capabilities", "-m", "512",
                "-smp", "2", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
                "-kernel", KIT, "-append", cmdline(db), "-drive", "file=%s,if=none,id=d0,format=raw" % img,
                "-device", "nvme,drive=d0,serial=BENCH"]
        results = {k: [] for k in contenders}
        for i in range(a.runs):
            for name, cmd in contenders.items():
                results[name].append(parse(run(cmd)))
        host = host_figures(img, a.secs)

    def med(name, wl, idx):
        return statistics.median(r[wl][idx] for r in results[name])

    print("nvme: %d runs each, %d s per workload, %d MiB image, guest kit bench mode %s, 1 generating vCPU, "
          "shadow doorbells %s" % (a.runs, a.secs, a.image_mib, a.mode, a.dbbuf))
    if len(modes) == 1:
        print("%-11s %14s %14s %10s %12s" % ("workload", "apiary", "qemu", "ratio", "host"))
        for wl in WORKLOADS:
            idx, unit = (1, "MiB/s") if wl.startswith("seq") else (0, "IOPS")
            ap_, q = med("apiary", wl, idx), med("qemu", wl, idx)
            h = host.get(wl)
            print("%-11s %8.0f %-5s %8.0f %-5s %10.2f %12s" % (wl, ap_, unit, q, unit, ap_ / q if q else float("nan"),
                                                            ("%d %s" % (h[idx], unit)) if h else "-"))
        return
    names = list(contenders)
    print("medians; rings/io = real doorbell writes per I/O (median); on/off = dbbuf-on / dbbuf-off")
    print("%-11s %-5s" % ("workload", "unit") + "".join("%19s" % n for n in names)
          + "%15s %13s %12s" % ("apiary on/off", "qemu on/off", "host"))
    for wl in WORKLOADS:
        idx, unit = (1, "MiB/s") if wl.startswith("seq") else (0, "IOPS")
        v = {n: med(n, wl, idx) for n in names}
        h = host.get(wl)
        ratio = lambda vm: v[vm + "/dbbuf-on"] / v[vm + "/dbbuf-off"] if v[vm + "/dbbuf-off"] else float("nan")
        print("%-11s %-5s" % (wl, unit) + "".join("%19.0f" % v[n] for n in names)
              + "%15.2f %13.2f %12s" % (ratio("apiary"), ratio("qemu"), ("%d" % h[idx]) if h else "-"))
        print("%-11s %-5s" % ("", "rings/io") + "".join("%19.3f" % med(n, wl, 2) for n in names))
    for n in names:
        print("%-18s %s" % (n, "  ".join("%s=%s" % (wl, "/".join(str(r[wl][1 if wl.startswith("seq") else 0])
                                                                 for r in results[n])) for wl in WORKLOADS)))

if __name__ == "__main__":
    main()
