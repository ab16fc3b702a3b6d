package dev.apiary.kubectlvm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code kubectl vm screenshot NAME -o file.png}: the VM's screen now, as the agent's PNG ({@code -o -}: stdout). */
@Command(name = "screenshot", description = "Save the VM's screen as PNG (-o - writes it to standard output).")
final class ScreenshotCommand implements Callable<Integer> {
    private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    @ParentCommand
    KubectlVm top;
    @Parameters(paramLabel = "NAME")
    String name;
    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE.png")
    String output;

    @Override
    public Integer call() throws Exception {
        AgentConnection a = top.agent(name);
        byte[] png = a.get(a.vmPath("/screenshot.png")).body();
        if (png.length < PNG.length || !Arrays.equals(png, 0, PNG.length, PNG, 0, PNG.length)) {
            throw new PluginException("the agent on " + a.node + " did not send a PNG (" + png.length + " bytes)");
        }
        if (output.equals("-")) {
            top.out.write(png);
            top.out.flush();
            return 0;
        }
        Files.write(Path.of(output), png);
        top.out.println("wrote " + output + " (" + png.length + " bytes)");
        return 0;
    }
}
