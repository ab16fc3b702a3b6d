#!/bin/bash
# Boot the guest kit under QEMU/KVM in several shapes and check its KIT markers.
# usage: guestkit/qemu-check.sh [bzImage]      (logs in guestkit/target/qemu-check/)
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

echo "== microvm (informational: no PCI, HW-reduced ACPI)"
boot microvm -M microvm -m 256 -smp 2 -no-reboot -append "console=ttyS0"
grep '^KIT' "$LOG" | grep -E 'fail|panic|done' | sed 's/^/    /'
if [ "$RC" = 0 ] && grep -q '^KIT done' "$LOG"; then result microvm ok "informational; see log for expected fails"
else result microvm FAIL "rc=$RC (informational)"; fi

echo
echo "guest kit QEMU check: $pass passed, $failed failed"
printf '  %s\n' "${summary[@]}"
[ "$failed" = 0 ]
