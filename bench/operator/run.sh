#!/bin/sh
# Operator benchmark: VMs/s from create to Scheduled at 100 and 1000 VMs against the fabric8 mock API server,
# plus the operator's retained heap. Usage: bench/operator/run.sh [SIZES...]   (default: 100 1000)
set -e
cd "$(dirname "$0")/../.."
mvn -q -pl crds,operator -am test-compile -DskipTests
mvn -q -pl operator dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
CP="operator/target/classes:operator/target/test-classes:$(cat operator/target/bench-classpath.txt)"
exec java -Xmx1g -cp "$CP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Djava.util.logging.manager=org.jboss.logmanager.LogManager -Dlogging.level=WARN \
  bench/operator/OperatorBench.java "$@"
