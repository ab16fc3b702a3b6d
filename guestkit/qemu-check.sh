#!/bin/bash
# Boot the guest kit under QEMU/KVM in several shapes and check its KIT markers.
# usage: guestkit/qemu-check.sh [bzImage]      (logs in guestkit/target/qemu-check/)
#        SECTIONS="nvme" guestkit/qemu-check.sh  runs only some groups (base, nvme, microvm; default all)
set -u
cd "$(dirname "$0")"
IMG=${1:-target/apiary-kit.bzImage}
[ -f "$IMG" ] || make -s all || exit 1
LOGS=target/qemu-check
mkdir -p "$LOGS"
QEMU=(qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities -display none -serial stdio -monitor none)
TIMEOUT=${TIMEOUT:-120}
pass=0; failed=0; summary=()

result() {  # name ok|FAIL reason
    if [ "$2" = ok ]; then pass=$((pass + 1)); else failed=$((failed + 1)); fi
    summary+=("$(printf '%-28s %-4s %s' "$1" "$2" "${3:-}")")
}

boot() {    # name qemu-args... ; sets LOG, RC, SECS
    local name=$1; shift
    LOG=$LOGS/$name.log
    local t0=$(date +%s.%N)
    timeout "$TIMEOUT" "${QEMU[@]}" "$@" -kernel "$IMG" </dev/null 2>"$LOG.stderr" | tr -d '\r' > "$LOG"
    RC=${PIPESTATUS[0]}
    SECS=$(echo "$(date +%s.%N) - $t0" | bc)
}

check_full() {  # name smp
    local name=$1 smp=$2 why=""
    [ "$RC" = 0 ] || why="qemu rc=$RC (124 = timeout, guest did not power off)"
    for m in "KIT start cmdline=" "KIT banner Apiary guest kit" "KIT bootparams ok" "KIT e820 ok" \
             "KIT acpi ok" "KIT fadt ok" "KIT cpus ok madt=$smp smp=$smp" "KIT pci ok" "KIT rtc ok" \
             "KIT pmtimer ok" "KIT irq ok" "KIT done"; do
        grep -q "^$m" "$LOG" || why="${why:+$why; }missing '$m'"
    done
    [ "$(head -1 "$LOG" | cut -c1-9)" = "KIT start" ] || why="${why:+$why; }first line is not KIT start"
    [ "$(grep -c '^KIT cpu-online' "$LOG")" = "$smp" ] || why="${why:+$why; }cpu-online lines != $smp"
    grep -E '^KIT [a-z0-9-]+ fail|^KIT panic' "$LOG" | head -3 | while read -r l; do echo "    $l"; done
    grep -qE '^KIT [a-z0-9-]+ fail|KIT panic' "$LOG" && why="${why:+$why; }fail/panic markers"
    if [ -z "$why" ]; then result "$name" ok "$(printf '%.1fs' "$SECS")"; else result "$name" FAIL "$why"; fi
}

SECTIONS=${SECTIONS:-base nvme microvm}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

if want base; then
for smp in 1 2 4; do
    for mem in 64 256 4096; do
        name="pc-smp$smp-m$mem"
        echo "== $name"
        boot "$name" -M pc -m "$mem" -smp "$smp" -no-reboot -append "console=ttyS0"
        check_full "$name" "$smp"
    done
done

echo "== reset-once"
boot reset-once -M pc -m 256 -smp 2 -append "kit.tests=banner kit.exit=reset-once"
if [ "$RC" = 0 ] && grep -q '^KIT boot count=1$' "$LOG" && grep -q '^KIT boot count=2$' "$LOG" \
   && [ "$(grep -c '^KIT start' "$LOG")" = 2 ]; then result reset-once ok "$(printf '%.1fs' "$SECS")"
else result reset-once FAIL "rc=$RC, want count=1 then count=2 and a power-off"; fi

echo "== reset"
boot reset -M pc -m 256 -smp 1 -no-reboot -append "kit.tests=banner kit.exit=reset"
if [ "$RC" = 0 ] && grep -q '^KIT done' "$LOG" && [ "$(grep -c '^KIT start' "$LOG")" = 1 ]; then result reset ok
else result reset FAIL "rc=$RC, want KIT done and a reset (QEMU exits with -no-reboot)"; fi

echo "== triplefault"
boot triplefault -M pc -m 256 -smp 2 -no-reboot -append "kit.tests=banner kit.exit=triplefault"
if [ "$RC" = 0 ] && grep -q '^KIT done' "$LOG" && [ "$(grep -c '^KIT start' "$LOG")" = 1 ]; then result triplefault ok
else result triplefault FAIL "rc=$RC, want KIT done and a reset (QEMU exits with -no-reboot)"; fi

echo "== panic"
boot panic -M pc -m 64 -smp 1 -no-reboot -append "kit.tests=panic"
if [ "$RC" = 0 ] && grep -qE '^KIT panic vector=6 rip=0x[0-9a-f]+ err=0x0 cpl=3$' "$LOG" && ! grep -q '^KIT done' "$LOG"; then result panic ok
else result panic FAIL "rc=$RC, want a KIT panic line for ud2 at CPL3 and a power-off"; fi

fi

# ---- NVMe (QEMU -device nvme) --------------------------------------------------------------------
# QEMU 7.2's answers to the hostile commands (docs/guestkit.md): everything as the spec says except
# a read whose PRP points outside guest RAM, which QEMU completes with success (data dropped).
QEMU_HOSTILE="prp-mmio:fail:sct=0 sc=0x00
prp-above-ram:fail:sct=0 sc=0x00
lba-range:ok:sct=0 sc=0x80
lba-range-span:ok:sct=0 sc=0x80
prp2-offset:ok:sct=0 sc=0x13
prp-list-offset:ok:sct=0 sc=0x13
prp-loop:ok:sct=0 sc=0x13
io-opcode:ok:sct=0 sc=0x01
admin-opcode:ok:sct=0 sc=0x01
cq-qid0:ok:sct=1 sc=0x01
cq-qid-range:ok:sct=1 sc=0x01
cq-size0:ok:sct=1 sc=0x02
cq-size-max:ok:sct=1 sc=0x02
mdts:ok:sct=0 sc=0x02"
if want nvme; then
DISK1=$LOGS/nvme-d0.img; DISK2=$LOGS/nvme-d1.img
nvme_disk() { rm -f "$1"; truncate -s "$2" "$1"; }
nvme_common() {  # name smp ctrl-count; prints the reasons for a failure (empty: fine)
    local why="" n
    [ "$RC" = 0 ] || why="qemu rc=$RC"
    grep -q '^KIT done' "$LOG" || why="${why:+$why; }no KIT done"
    grep -q '^KIT panic' "$LOG" && why="${why:+$why; }panic"
    n=$(grep -c '^KIT nvme-ctrl ok bdf=[0-9a-f]*:[0-9a-f]*\.[0-7] bar0=0x[0-9a-f]* bar0_size=16384 mqes=2047 dstrd=0 model="QEMU NVMe Ctrl" serial="KIT' "$LOG")
    [ "$n" = "$3" ] || why="${why:+$why; }nvme-ctrl ok lines=$n, want $3"
    n=$(grep -c "^KIT nvme-queues ok pairs=$2 vectors=$(($2 + 1)) " "$LOG")
    [ "$n" = "$3" ] || why="${why:+$why; }nvme-queues lines=$n, want $3 with pairs=$2"
    n=$(grep -cE "^KIT nvme-io ok cpu=[0-9]+ writes=16 reads=16 irqs=[0-9]+ " "$LOG")
    [ "$n" = "$(($2 * $3))" ] || why="${why:+$why; }nvme-io ok lines=$n, want $(($2 * $3))"
    grep -E '^KIT nvme-[a-z-]+ fail' "$LOG" | grep -v '^KIT nvme-hostile fail' | head -3 | sed 's/^/    /' >&2
    grep -v '^KIT nvme-hostile fail' "$LOG" | grep -qE '^KIT nvme-[a-z-]+ fail' && why="${why:+$why; }nvme fail markers"
    echo "$why"
}

echo "== nvme-one (write/read/trim/flush, hostile commands, host-side data check)"
nvme_disk "$DISK1" 64M
boot nvme-one -M pc -m 256 -smp 2 -no-reboot \
    -drive "file=$DISK1,if=none,id=d0,format=raw,discard=unmap" -device nvme,drive=d0,serial=KITSERIAL \
    -append "kit.tests=nvme kit.nvme.write=100,300 kit.nvme.read=100,20 kit.nvme.trim=380,16"
why=$(nvme_common nvme-one 2 1)
grep -q '^KIT nvme-ns ok nsid=1 lbas=131072 lba_size=512 ' "$LOG" || why="${why:+$why; }nvme-ns"
grep -q '^KIT nvme-write ok lba=100 count=300 crc32=0x[0-9a-f]\{8\} flushed=yes verified=yes ctrl=0' "$LOG" || why="${why:+$why; }nvme-write"
grep -q '^KIT nvme-trim ok lba=380 count=16 zeros=yes ' "$LOG" || why="${why:+$why; }nvme-trim (want zeros=yes with discard=unmap)"
grep -q '^KIT nvme-flush ok ' "$LOG" || why="${why:+$why; }nvme-flush"
# shadow doorbells (QEMU 7.2 offers Doorbell Buffer Config): on by default; the burst rings for few updates
grep -q '^KIT nvme-queues ok .* dbbuf=on ctrl=0$' "$LOG" || why="${why:+$why; }nvme-queues: want dbbuf=on"
grep -qE '^KIT nvme-burst ok cmds=16 rings=([1-9]|1[0-5]) shadow=16 dbbuf=on ctrl=0$' "$LOG" ||
    why="${why:+$why; }nvme-burst: want rings<16 shadow=16, got '$(grep '^KIT nvme-burst' "$LOG")'"
# the image must hold what the kit says it wrote, and the crc the kit read must be the file's
hostchk=$(python3 - "$DISK1" "$LOG" <<'PY'
import re, sys, zlib
img = open(sys.argv[1], 'rb').read(); log = open(sys.argv[2]).read()
pat = lambda l: (b'APIARY-KIT-LBA-%08x' % l * 23)[:512]
bad = [l for l in range(100, 380) if img[l * 512:(l + 1) * 512] != pat(l)]
bad += [l for l in range(380, 396) if img[l * 512:(l + 1) * 512] != bytes(512)]
m = re.search(r'^KIT nvme-read ok lba=100 count=20 crc32=0x([0-9a-f]{8}) first="APIARY-KIT-LBA-0" ', log, re.M)
out = []
if bad: out.append('image differs at LBAs %s' % bad[:4])
if not m: out.append('no nvme-read line for 100,20')
elif int(m.group(1), 16) != zlib.crc32(img[100 * 512:120 * 512]): out.append('nvme-read crc32 != image crc32')
print('; '.join(out))
PY
)
[ -n "$hostchk" ] && why="${why:+$why; }$hostchk"
while IFS=: read -r case res ans; do
    grep -q "^KIT nvme-hostile $res $case .*$ans ctrl=0\$" "$LOG" ||
        why="${why:+$why; }hostile $case: want '$res ... $ans', got '$(grep "^KIT nvme-hostile [a-z]* $case " "$LOG" | cut -d' ' -f3-)'"
done <<<"$QEMU_HOSTILE"
if [ -z "$why" ]; then result nvme-one ok "$(printf '%.1fs' "$SECS")"; else result nvme-one FAIL "$why"; fi

echo "== nvme-two (two controllers, BARs assigned by the kit, RAM above 4 GiB)"
nvme_disk "$DISK1" 64M; nvme_disk "$DISK2" 32M
boot nvme-two -M pc -m 4096 -smp 2 -no-reboot \
    -drive "file=$DISK1,if=none,id=d0,format=raw" -device nvme,drive=d0,serial=KITSERIAL \
    -drive "file=$DISK2,if=none,id=d1,format=raw" -device nvme,drive=d1,serial=KITSER2 \
    -append "kit.tests=nvme kit.nvme.bar=assign kit.nvme.hostile=no kit.nvme.dbbuf=no"
why=$(nvme_common nvme-two 2 2)
grep -q '^KIT nvme-ctrl ok .*serial="KITSER2" .*bar0_assigned=kit .*ctrl=1$' "$LOG" || why="${why:+$why; }second controller"
[ "$(grep -c '^KIT nvme-queues ok .* dbbuf=off ctrl=[01]$' "$LOG")" = 2 ] || why="${why:+$why; }nvme-queues: want dbbuf=off (kit.nvme.dbbuf=no)"
[ "$(grep -c '^KIT nvme-burst ok cmds=16 rings=16 shadow=0 dbbuf=off ctrl=[01]$' "$LOG")" = 2 ] || why="${why:+$why; }nvme-burst: want plain doorbells"
grep -q '^KIT nvme-ns ok nsid=1 lbas=65536 lba_size=512 .*ctrl=1$' "$LOG" || why="${why:+$why; }second namespace"
[ "$(grep -c '^KIT nvme-ctrl ok bdf=.* bar0=0xc000[0-9a-f]* .*bar0_assigned=kit' "$LOG")" = 2 ] || why="${why:+$why; }BARs not assigned from 0xc0000000"
if [ -z "$why" ]; then result nvme-two ok "$(printf '%.1fs' "$SECS")"; else result nvme-two FAIL "$why"; fi

echo "== nvme-bench (informational figures)"
rm -f "$DISK1"; dd if=/dev/zero of="$DISK1" bs=1M count=256 status=none   # not sparse: holes read slowly here
boot nvme-bench -M pc -m 256 -smp 2 -no-reboot \
    -drive "file=$DISK1,if=none,id=d0,format=raw" -device nvme,drive=d0,serial=KITSERIAL \
    -append "kit.tests=nvme-bench kit.nvme.bench_secs=1"
grep '^KIT nvme-bench' "$LOG" | sed 's/^/    /'
if [ "$RC" = 0 ] && [ "$(grep -c '^KIT nvme-bench [a-z0-9]* ok iops=[0-9]* mbps=[0-9]* ios=[0-9]* secs=[0-9]*\.[0-9]\{3\}' "$LOG")" = 4 ]; then
    result nvme-bench ok "$(grep '^KIT nvme-bench' "$LOG" | awk '{printf "%s %s  ", $3, $5}')"
else result nvme-bench FAIL "rc=$RC, want 4 nvme-bench ok lines"; fi
rm -f "$DISK1" "$DISK2"
fi

if want microvm; then
echo "== microvm (informational: no PCI, HW-reduced ACPI)"
boot microvm -M microvm -m 256 -smp 2 -no-reboot -append "console=ttyS0"
grep '^KIT' "$LOG" | grep -E 'fail|panic|done' | sed 's/^/    /'
if [ "$RC" = 0 ] && grep -q '^KIT done' "$LOG"; then result microvm ok "informational; see log for expected fails"
else result microvm FAIL "rc=$RC (informational)"; fi
fi

echo
echo "guest kit QEMU check: $pass passed, $failed failed"
printf '  %s\n' "${summary[@]}"
[ "$failed" = 0 ]
