#!/bin/sh
# Operator benchmark against the fabric8 mock API server.
#   bench/operator/run.sh [SIZES...]        VMs/s create→Scheduled in-process, default sizes 100 1000
#   bench/operator/run.sh --process [N]     the packaged operator as its own process: RSS, heap, metrics (N=1000)
set -e
cd "$(dirname "$0")/../.."
if [ "$1" = "--process" ]; then
  shift
  mvn -q -pl crds,operator -am package -DskipTests
  MAIN=bench/operator/ProcessMemory.java
else
  mvn -q -pl crds,operator -am test-compile -DskipTests
  MAIN=bench/operator/OperatorBench.java
fi
mvn -q -pl operator dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
CP="operator/target/classes:operator/target/test-classes:$(cat operator/target/bench-classpath.txt)"
exec java -Xmx1g -cp "$CP" -Djava.util.logging.manager=org.jboss.logmanager.LogManager "$MAIN" "$@"
