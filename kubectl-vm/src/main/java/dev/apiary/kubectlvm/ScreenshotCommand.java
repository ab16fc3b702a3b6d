package dev.apiary.kubectlvm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code kubectl vm screenshot NAME -o file.png}. */
@Command(name = "screenshot", description = "Save the VM's screen as PNG.")
final class ScreenshotCommand implements Callable<Integer> {
    @ParentCommand
    KubectlVm top;
    @Parameters(paramLabel = "NAME")
    String name;
    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE.png")
    Path output;

    @Override
    public Integer call() throws Exception {
        AgentConnection a = top.agent(name);
        byte[] png = a.get(a.vmPath("/screenshot.png")).body();
        Files.write(output, png);
        top.out.println("wrote " + output + " (" + png.length + " bytes)");
        return 0;
    }
}
