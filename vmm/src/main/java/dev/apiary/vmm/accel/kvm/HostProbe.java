package dev.apiary.vmm.accel.kvm;

import static dev.apiary.vmm.accel.kvm.KvmAbi.*;

import dev.apiary.vmm.accel.kvm.Kvm;
import dev.apiary.vmm.accel.kvm.KvmVcpu;
import dev.apiary.vmm.accel.kvm.KvmVm;
import dev.apiary.vmm.accel.kvm.VcpuKicker;
import dev.apiary.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;

/**
 * Learns whether this host's KVM runs kernel-mode guest code natively, by booting a 40-byte real-mode guest:
 * it times a loop at CPL0, then executes an SSE register move and x87 instructions ({@code fld1; fwait}) at
 * CPL0. On a hardware-backed KVM all of it is native (hundreds of millions of instructions per second). On a
 * KVM that emulates kernel mode (the nested "PVM" KVM of the machines Apiary is developed on) the loop runs
 * ~1000× slower and x87 arithmetic is an emulation failure: no distribution kernel or OVMF boots there.
 */
public final class HostProbe {
    /** The verdict, with figures. */
    public record Result(boolean kvmUsable, boolean fullGuests, String reason, double cpl0InstructionsPerSecond,
            boolean fpuAtCpl0) {
        public String summary() {
            if (!kvmUsable) {
                return "KVM unusable: " + reason;
            }
            return (fullGuests ? "full guests: yes" : "full guests: no") + " — " + reason;
        }
    }

    private static final int LOOP_ITERATIONS = 50_000;
    /** Anything this fast is native execution; KVM's emulator manages a few million per second. */
    private static final double NATIVE_THRESHOLD = 50e6;
    private static final int PORT_START = 0x80;
    private static final int PORT_LOOP_DONE = 0x81;
    private static final int PORT_SSE_OK = 0x82;
    private static final int PORT_X87_OK = 0x83;
    private static final int PORT_UD = 0x84;

    private HostProbe() {}

    public static Result run() {
        String why = Kvm.unavailableReason();
        if (why != null) {
            return new Result(false, false, why, 0, false);
        }
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm()) {
            return probe(kvm, vm);
        } catch (RuntimeException e) {
            return new Result(false, false, e.getMessage(), 0, false);
        }
    }

    private static Result probe(Kvm kvm, KvmVm vm) {
        GuestMemory mem = vm.mapRam(0, 1 << 20);
        byte[] code = {
            (byte) 0xE6, (byte) PORT_START,                                   // out 0x80, al
            0x66, (byte) 0xB9, (byte) LOOP_ITERATIONS, (byte) (LOOP_ITERATIONS >> 8),
            (byte) (LOOP_ITERATIONS >> 16), (byte) (LOOP_ITERATIONS >> 24),  // mov ecx, N
            0x66, 0x49,                                                       // loop: dec ecx
            0x75, (byte) 0xFC,                                                // jnz loop
            (byte) 0xE6, (byte) PORT_LOOP_DONE,                               // out 0x81, al
            0x0F, 0x28, (byte) 0xC1,                                          // movaps xmm0, xmm1
            (byte) 0xE6, (byte) PORT_SSE_OK,                                  // out 0x82, al
            (byte) 0xDB, (byte) 0xE3,                                         // fninit
            (byte) 0xD9, (byte) 0xE8,                                         // fld1
            (byte) 0x9B,                                                      // fwait
            (byte) 0xE6, (byte) PORT_X87_OK,                                  // out 0x83, al
            (byte) 0xEB, (byte) 0xFE,                                         // jmp $
        };
        byte[] udHandler = {(byte) 0xE6, (byte) PORT_UD, (byte) 0xEB, (byte) 0xFE}; // out 0x84, al; jmp $
        try {
            mem.write(0x1000, code);
            mem.write(0x1100, udHandler);
            mem.write16(6 * 4, (short) 0x1100); // IVT[6] (#UD) = 0000:1100
            mem.write16(6 * 4 + 2, (short) 0);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        KvmVcpu vcpu = vm.createVcpu(0);
        vcpu.setCpuid(kvm.supportedCpuid());
        ByteBuffer s = vcpu.getSregs();
        s.putLong(SREGS_CS + SEG_BASE, 0).putShort(SREGS_CS + SEG_SELECTOR, (short) 0);
        s.putLong(SREGS_CR4, s.getLong(SREGS_CR4) | 0x200); // CR4.OSFXSR, so SSE is legal
        s.putLong(SREGS_CR0, s.getLong(SREGS_CR0) & ~0x4L | 0x2L); // EM=0, MP=1
        vcpu.setSregs();
        ByteBuffer r = vcpu.getRegs();
        r.putLong(REGS_RIP, 0x1000).putLong(REGS_RFLAGS, 2);
        vcpu.setRegs();

        long[] pthread = {0};
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(10_000);
                VcpuKicker.kick(vcpu, pthread[0]);
            } catch (InterruptedException ignored) {
                // probe finished
            }
        }, "probe-watchdog");
        watchdog.setDaemon(true);
        VcpuKicker.install();
        pthread[0] = VcpuKicker.currentThread();
        watchdog.start();
        long start = 0;
        double ips = 0;
        boolean sse = false;
        try {
            while (true) {
                int reason = vcpu.run();
                if (reason == -1) {
                    return new Result(true, false, "probe guest did not finish in 10 s", ips, false);
                }
                if (reason == KVM_EXIT_IO) {
                    int port = vcpu.runPage().getShort(RUN_IO_PORT) & 0xFFFF;
                    long now = System.nanoTime();
                    if (port == PORT_START) {
                        start = now;
                    } else if (port == PORT_LOOP_DONE) {
                        ips = 2.0 * LOOP_ITERATIONS / ((now - start) / 1e9);
                    } else if (port == PORT_SSE_OK) {
                        sse = true;
                    } else if (port == PORT_X87_OK) {
                        boolean fast = ips >= NATIVE_THRESHOLD;
                        return new Result(true, fast, String.format(
                                "kernel-mode guest code runs %s (%.1f M instructions/s at CPL0); SSE and x87 at CPL0 work",
                                fast ? "natively" : "slowly, emulated by KVM", ips / 1e6), ips, true);
                    } else if (port == PORT_UD) {
                        return new Result(true, false, String.format(
                                "%s at CPL0 raised #UD (%.1f M instructions/s at CPL0)", sse ? "x87" : "SSE", ips / 1e6),
                                ips, false);
                    }
                } else if (reason == KVM_EXIT_INTERNAL_ERROR) {
                    return new Result(true, false, String.format(
                            "this KVM emulates kernel-mode guest code (%.1f M instructions/s at CPL0) and cannot "
                                    + "emulate %s there: distribution kernels and OVMF cannot boot on this host",
                            ips / 1e6, sse ? "x87 (fwait)" : "SSE"), ips, false);
                } else {
                    return new Result(true, false, "probe guest stopped with KVM exit reason " + reason, ips, false);
                }
            }
        } finally {
            watchdog.interrupt();
            vcpu.close();
        }
    }
}
