package dev.apiary.kubectlvm;

import java.net.http.HttpResponse;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code kubectl vm logs NAME [--tail N] [-f]}: the VM's serial (COM1) history from its agent. */
@Command(name = "logs", description = "Print the VM's serial console history (COM1), as kept on its node.")
final class LogsCommand implements Callable<Integer> {
    @ParentCommand
    KubectlVm top;
    @Parameters(paramLabel = "NAME")
    String name;
    @Option(names = "--tail", description = "only the last N bytes")
    Integer tail;
    @Option(names = {"-f", "--follow"}, description = "keep printing new output until interrupted")
    boolean follow;
    @Option(names = "--from", description = "start at this byte offset (as printed by --offsets)")
    Long from;

    @Override
    public Integer call() throws Exception {
        AgentConnection a = top.agent(name);
        String q = tail != null ? "?tail=" + tail : "?from=" + (from == null ? 0 : from);
        HttpResponse<byte[]> r = a.get(a.vmPath("/serial" + q));
        String run = r.headers().firstValue("X-Run-Id").orElse("");
        while (true) {
            top.out.write(r.body());
            top.out.flush();
            long next = Long.parseLong(r.headers().firstValue("X-Serial-Next").orElse("0"));
            long end = Long.parseLong(r.headers().firstValue("X-Serial-End").orElse("0"));
            if (next < end) {
                r = a.get(a.vmPath("/serial?from=" + next));
                continue;
            }
            if (!follow) return 0;
            Thread.sleep(250);
            r = a.get(a.vmPath("/serial?from=" + next));
            String nowRun = r.headers().firstValue("X-Run-Id").orElse("");
            if (!nowRun.equals(run)) {
                // A new run began: its history starts at offset 0 again.
                top.err.println("--- run " + nowRun + " ---");
                run = nowRun;
                r = a.get(a.vmPath("/serial?from=0"));
            }
        }
    }
}
