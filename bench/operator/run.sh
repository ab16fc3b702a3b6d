#!/bin/sh
# Operator benchmark against the fabric8 mock API server.
#   bench/operator/run.sh [SIZES...]        VMs/s create→Scheduled in-process, default sizes 100 1000
#   bench/operator/run.sh --process [N]     the packaged operator as its own process: RSS, heap, metrics (N=1000)
#   bench/operator/run.sh --mock [SIZES...] the mock API server's own write rate, no operator (sizes 0 1000)
# BENCH_JAVA_OPTS=-Dbench.requests=true adds the API requests the mock server answered, per resource and VM.
set -e
cd "$(dirname "$0")/../.."
if [ "$1" = "--process" ]; then
  shift
  GOAL=package
  MAIN=bench/operator/ProcessMemory.java
elif [ "$1" = "--mock" ]; then
  shift
  GOAL=test-compile
  MAIN=bench/operator/MockWriteBench.java
else
  GOAL=test-compile
  MAIN=bench/operator/OperatorBench.java
fi
# One reactor run: the classpath names crds/target/classes (nothing is installed into ~/.m2).
mvn -q -pl crds,operator -am $GOAL dependency:build-classpath -DskipTests \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
CP="operator/target/classes:operator/target/test-classes:$(cat operator/target/bench-classpath.txt)"
exec java -Xmx1g $BENCH_JAVA_OPTS -cp "$CP" -Djava.util.logging.manager=org.jboss.logmanager.LogManager "$MAIN" "$@"
