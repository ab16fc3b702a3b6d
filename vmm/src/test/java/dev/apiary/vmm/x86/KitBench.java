package dev.apiary.vmm.x86;

/**
 * A developer tool, not a test: runs the guest kit's {@code cpubench} check on a bare test machine (one vCPU,
 * no APIC) and prints its figures, for profiling the software CPU without the VMM around it. Run with
 * {@code java -cp target/classes:target/test-classes:$(cat target/classpath.txt) dev.apiary.vmm.x86.KitBench [repeats]} in
 * {@code vmm/} after {@code mvn -pl vmm -am package -DskipTests}.
 */
public final class KitBench {
    private KitBench() {}

    public static void main(String[] args) throws Exception {
        int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        for (int i = 0; i < repeats; i++) {
            TestBus bus = new TestBus(64);
            Cpu cpu = GuestKitBootTest.boot(bus, "console=ttyS0 kit.tests=cpubench kit.exit=halt", new CpuConfig(0, 0, 1));
            long t0 = System.nanoTime();
            Cpu.Exit exit = Cpu.Exit.BUDGET;
            while (!bus.serial.toString().contains("KIT done") && exit == Cpu.Exit.BUDGET) {
                exit = cpu.run(1_000_000);
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            String out = bus.serial.toString();
            String line = out.lines().filter(l -> l.contains("KIT cpubench")).findFirst().orElse(out);
            System.out.printf("%s%n  %d instructions in %d ms (%.1f M/s overall), %d blocks translated, exit %s%n",
                    line, cpu.instructions(), ms, cpu.instructions() / 1e3 / Math.max(ms, 1),
                    cpu.platform.translator.translated(), exit);
        }
    }
}
