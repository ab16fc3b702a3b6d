#!/usr/bin/env bash
# Apply-to-Running latency (1 and 10 VMs on one node) and the idle VMM's memory beyond guest RAM, with the mock API
# server, the operator, one agent and real VMM processes on KVM. Needs /dev/kvm and a built tree:
#   mvn -q -DskipTests install
#   bench/e2e/run.sh [rounds-of-1 [rounds-of-10]]
# Figures go to stdout and e2e/target/bench-e2e.txt; docs/benchmarks.md ("End to end") records a run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
mvn -q -o -pl e2e verify -Dtest=E2eBench -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.rounds1="${1:-10}" -Dbench.rounds10="${2:-2}"
cat e2e/target/bench-e2e.txt
