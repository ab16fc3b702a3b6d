#!/usr/bin/env bash
# Builds the release archive of the kubectl plugin, kubectl-vm-VERSION.tar.gz (bin/kubectl-vm + lib/), and prints
# its sha256 for krew/vm.yaml. Needs a Java 17+ runtime on the user's machine.
#   kubectl-vm/package.sh            (from the repository root or kubectl-vm/)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
mvn -q -o -pl kubectl-vm -am package -DskipTests
version="$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' pom.xml | head -1)"
stage="$(mktemp -d)"
mkdir -p "$stage/kubectl-vm/bin" "$stage/kubectl-vm/lib"
cp kubectl-vm/bin/kubectl-vm "$stage/kubectl-vm/bin/"
cp kubectl-vm/target/lib/*.jar "$stage/kubectl-vm/lib/"
cp kubectl-vm/target/kubectl-vm.jar "$stage/kubectl-vm/lib/kubectl-vm.jar"
cp LICENSE "$stage/kubectl-vm/" 2>/dev/null || true
out="kubectl-vm/target/kubectl-vm-$version.tar.gz"
tar -C "$stage" -czf "$out" kubectl-vm
rm -rf "$stage"
echo "$out"
sha256sum "$out"
