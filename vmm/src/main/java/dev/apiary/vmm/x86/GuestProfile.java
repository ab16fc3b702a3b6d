package dev.apiary.vmm.x86;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A developer's sampling profile of where the guest spends its time ({@code -Dapiary.x86.profile=true}): a
 * daemon thread reads each vCPU's RIP every millisecond (racily, which is fine for a histogram) and whether it
 * is running translated blocks. In a block RIP is where the running block (or its chain) was entered, so the
 * histogram names hot blocks; interpreted code shows at its instructions.
 */
final class GuestProfile {
    private final List<Cpu> cpus = new CopyOnWriteArrayList<>();
    private final Map<Long, long[]> samples = new HashMap<>();
    /** Interpreted samples by the mnemonic of the instruction last run. */
    private final Map<String, long[]> interpreted = new HashMap<>();
    private final Map<Block, long[]> blocks = new HashMap<>();
    private long total;

    GuestProfile() {
        Thread t = new Thread(this::sample, "x86-profile");
        t.setDaemon(true);
        t.start();
    }

    void add(Cpu cpu) {
        cpus.add(cpu);
    }

    private void sample() {
        for (;;) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                for (Cpu c : cpus) {
                    if (c.halted || c.waitingForSipi) {
                        continue;
                    }
                    long rip = c.s.rip;
                    long[] n = samples.computeIfAbsent(rip, k -> new long[2]);
                    n[c.inBlocks ? 1 : 0]++;
                    Block b = c.runningBlock;
                    if (c.inBlocks && b != null) {
                        blocks.computeIfAbsent(b, k -> new long[1])[0]++;
                    }
                    if (!c.inBlocks) {
                        Insn d = c.lastInsn();
                        String key = d == null ? "?" : d.disassemble().replaceAll(" \\[.*", "");
                        interpreted.computeIfAbsent(key, k -> new long[1])[0]++;
                    }
                    total++;
                }
            }
        }
    }

    /** The hottest RIPs: share of samples, interpreted / in blocks. */
    synchronized String report(int top) {
        List<Map.Entry<Long, long[]>> list = new ArrayList<>(samples.entrySet());
        list.sort(Comparator.comparingLong((Map.Entry<Long, long[]> e) -> e.getValue()[0] + e.getValue()[1]).reversed());
        StringBuilder sb = new StringBuilder(String.format("profile: %,d samples%n", total));
        long interp = samples.values().stream().mapToLong(v -> v[0]).sum();
        sb.append(String.format("  %.1f%% of samples interpreting%n", 100.0 * interp / Math.max(1, total)));
        List<Map.Entry<String, long[]>> ops = new ArrayList<>(interpreted.entrySet());
        ops.sort(Comparator.comparingLong((Map.Entry<String, long[]> e) -> e.getValue()[0]).reversed());
        for (int i = 0; i < Math.min(top, ops.size()); i++) {
            sb.append(String.format("  interpreted %5.2f%% %s%n", 100.0 * ops.get(i).getValue()[0] / total, ops.get(i).getKey()));
        }
        List<Map.Entry<Block, long[]>> bl = new ArrayList<>(blocks.entrySet());
        bl.sort(Comparator.comparingLong((Map.Entry<Block, long[]> e) -> e.getValue()[0]).reversed());
        for (int i = 0; i < Math.min(12, bl.size()); i++) {
            Block b = bl.get(i).getKey();
            sb.append(String.format("  block %5.2f%% at %x:%n", 100.0 * bl.get(i).getValue()[0] / total, b.rip));
            for (Insn d : b.insns) {
                sb.append("      ").append(HexFormat.of().formatHex(d.bytes)).append("  ").append(d.disassemble()).append('\n');
            }
        }
        for (int i = 0; i < Math.min(top, list.size()); i++) {
            long[] v = list.get(i).getValue();
            sb.append(String.format("  %5.2f%% %016x  interp %d block %d%n", 100.0 * (v[0] + v[1]) / total,
                    list.get(i).getKey(), v[0], v[1]));
        }
        return sb.toString();
    }
}
