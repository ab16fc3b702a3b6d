#!/usr/bin/env python3
"""virtio-net benchmark: the guest kit's virtio-net responder (kit.tests=net: MSI-X, event index, one queue
pair) behind a TAP, on Apiary's software CPU and on QEMU's TCG with `-device virtio-net-pci` on a TAP without
vhost — the same guest, the same kind of accelerator (both emulate the CPU), interleaved in one run. The host
drives UDP echo through the guest:

  rr     one datagram in flight (64-byte frames): round trips per second, the latency of the whole path
  pps    32 small datagrams in flight (64-byte frames): echoes per second, each one frame in and one out
  tput   32 full-size datagrams in flight (1514-byte frames): payload MB/s echoed, each way

Prints medians and ratios (Apiary / QEMU). Needs root (it makes a TAP with 10.0.5.1/24), qemu-system-x86_64
and a built VMM and guest kit.

  bench/net/run.py [--runs N] [--secs S]
"""
import argparse, os, select, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KIT = os.path.join(ROOT, "guestkit", "target", "apiary-kit.bzImage")
TAP = "apbench%d" % (os.getpid() % 10000)
HOST, GUEST, MAC = "10.0.5.1", "10.0.5.15", "52:54:00:12:34:56"
CMDLINE = "kit.tests=net kit.net.ip=%s kit.net.time=600 kit.exit=poweroff" % GUEST
WORKLOADS = [("rr", 1, 18), ("pps", 32, 18), ("tput", 32, 1472)]


def sh(*cmd, check=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), p.stdout.decode(errors="replace")))
    return p.returncode


def echo(sock, window, payload, secs):
    """Keeps `window` datagrams in flight for `secs` seconds; returns echoes per second."""
    data = b"x" * payload
    dst = (GUEST, 7)
    for _ in range(window):
        sock.sendto(data, dst)
    n, t0 = 0, time.monotonic()
    end = t0 + secs
    while True:
        now = time.monotonic()
        if now >= end:
            break
        r, _, _ = select.select([sock], [], [], min(0.2, end - now))
        if not r:
            for _ in range(window):  # lost ones: fill the window again
                sock.sendto(data, dst)
            continue
        while True:
            try:
                sock.recv(2048, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            n += 1
            sock.sendto(data, dst)
    dt = time.monotonic() - t0
    # drain what is still in flight
    sock.settimeout(0.5)
    try:
        while True:
            sock.recv(2048)
    except (socket.timeout, BlockingIOError):
        pass
    sock.settimeout(None)
    return n / dt


def measure(cmd, secs):
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        t0 = time.monotonic()
        while sh("ping", "-c", "1", "-W", "1", "-I", TAP, GUEST, check=False) != 0:
            if proc.poll() is not None or time.monotonic() - t0 > 300:
                raise RuntimeError("the guest never answered: %s" % proc.stdout.read().decode(errors="replace"))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        res = {}
        echo(s, 1, 18, 0.5)  # warm up
        for name, window, payload in WORKLOADS:
            rate = echo(s, window, payload, secs)
            res[name] = rate * (payload / 1e6 if name == "tput" else 1)
        s.sendto(b"stop", (GUEST, 7))
        out = proc.communicate(timeout=60)[0].decode(errors="replace")
        if "KIT net ok" not in out:
            raise RuntimeError("the guest did not end well:\n" + out)
        return res
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=float, default=3)
    a = ap.parse_args()
    if not os.path.exists(KIT):
        sys.exit("build first: mvn -q -DskipTests install (guest kit and VMM)")
    with tempfile.TemporaryDirectory() as tmp:
        manifest = os.path.join(tmp, "net-bench.yaml")
        with open(manifest, "w") as f:
            f.write("""kind: VirtualMachine
metadata: {name: net-bench}
spec:
  accelerator: Emulated
  cpus: 1
  memory: 256Mi
  boot:
    kernel: {path: %s, cmdline: "%s"}
  networks:
    - {name: net0, tapName: %s, macAddress: "%s"}
""" % (KIT, CMDLINE, TAP, MAC))
        contenders = {
            "apiary": [os.path.join(ROOT, "bin", "vmm"), "run", manifest],
            "qemu": ["qemu-system-x86_64", "-M", "pc", "-accel", "tcg", "-cpu", "max", "-m", "256", "-smp", "1",
                     "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
                     "-kernel", KIT, "-append", CMDLINE,
                     "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=off" % TAP,
                     "-device", "virtio-net-pci,netdev=n0,mac=%s,disable-legacy=on" % MAC],
        }
        sh("ip", "tuntap", "add", "dev", TAP, "mode", "tap", "vnet_hdr")
        try:
            sh("ip", "addr", "add", HOST + "/24", "dev", TAP)
            sh("ip", "link", "set", TAP, "up")
            results = {k: [] for k in contenders}
            for _ in range(a.runs):
                for name, cmd in contenders.items():
                    results[name].append(measure(cmd, a.secs))
        finally:
            sh("ip", "tuntap", "del", "dev", TAP, "mode", "tap", check=False)

    def med(name, wl):
        return statistics.median(r[wl] for r in results[name])

    print("net: guest kit UDP echo over a TAP, %d interleaved runs, %.0f s per workload; Apiary's software CPU "
          "vs QEMU TCG (-device virtio-net-pci, no vhost), 1 vCPU" % (a.runs, a.secs))
    print("%-6s %-18s %12s %12s %8s" % ("", "unit", "apiary", "qemu", "ratio"))
    units = {"rr": "round trips/s", "pps": "echoes/s", "tput": "MB/s each way"}
    for name, _, _ in WORKLOADS:
        ap_, q = med("apiary", name), med("qemu", name)
        print("%-6s %-18s %12.1f %12.1f %8.2f" % (name, units[name], ap_, q, ap_ / q if q else float("nan")))
    for n in contenders:
        print("%-7s %s" % (n, "  ".join("%s=%s" % (w, "/".join("%.0f" % r[w] if w != "tput" else "%.2f" % r[w]
                                                               for r in results[n])) for w, _, _ in WORKLOADS)))


if __name__ == "__main__":
    main()
