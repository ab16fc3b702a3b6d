package dev.apiary.vmm.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Several vCPUs on their own threads over one platform: LOCK'd operations are atomic across them. */
class MultiCpuTest {
    @Test
    void lockedIncrementsFromTwoThreadsAllCount() throws Exception {
        LongMode m = new LongMode();
        // each CPU: 200000 x (lock incq; lock xadd; cmpxchg loop on a byte inside the same dword)
        String src = "mov $200000,%ecx\n1: lock incq 0x200000\nmov $1,%eax\nlock xadd %eax,0x200008\n"
                + "2: movzbl 0x200011,%eax\nlea 1(%rax),%edx\nlock cmpxchg %dl,0x200011\njne 2b\n"
                + "dec %ecx\njnz 1b\nhlt";
        m.bus.load(LongMode.CODE, Asm.assemble(src, LongMode.CODE));
        Cpu second = new Cpu(m.platform, LocalInterrupts.NONE, new CpuConfig(0, 1, 2)); // runs at once, as a BSP
        CpuState t = second.state();
        for (int seg = 0; seg < 8; seg++) {
            t.setSegment(seg, m.s.selector(seg), m.s.segmentBase(seg), m.s.segmentLimit(seg), m.s.segmentAttributes(seg));
        }
        t.setCr4(m.s.cr4());
        t.setEfer(m.s.efer());
        t.setCr3(m.s.cr3());
        t.setCr0(m.s.cr0());
        t.setGdtr(m.s.gdtrBase(), m.s.gdtrLimit());
        t.setIdtr(m.s.idtrBase(), m.s.idtrLimit());
        t.setGpr(4, 0x70000);
        t.setRip(LongMode.CODE);
        t.setRflags(2);
        AtomicReference<Cpu.Exit> otherExit = new AtomicReference<>();
        Thread other = new Thread(() -> otherExit.set(runToHalt(second)));
        other.start();
        Cpu.Exit first = runToHalt(m.cpu);
        other.join();
        assertEquals(Cpu.Exit.HALTED, first);
        assertEquals(Cpu.Exit.HALTED, otherExit.get());
        assertEquals(400000, m.bus.read64(0x200000));
        assertEquals(400000, m.bus.ram.getInt(0x200008));
        assertEquals(400000 & 0xFF, m.bus.ram.get(0x200011) & 0xFF);
        assertEquals(0, m.bus.ram.get(0x200010));
        assertEquals(0, m.bus.ram.getShort(0x200012));
    }

    private static Cpu.Exit runToHalt(Cpu cpu) {
        Cpu.Exit e;
        do {
            e = cpu.run(100_000);
        } while (e == Cpu.Exit.BUDGET);
        return e;
    }
}
