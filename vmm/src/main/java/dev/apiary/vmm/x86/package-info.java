/**
 * The software x86-64 CPU: decoder, interpreter, MMU with a software TLB, exceptions and interrupt delivery
 * (and, later, the translator to JVM bytecode). It depends on nothing of the VMM: the machine reaches it
 * through {@link dev.apiary.vmm.x86.CpuBus} (RAM, MMIO, ports), {@link dev.apiary.vmm.x86.LocalInterrupts}
 * (its local APIC) and {@link dev.apiary.vmm.x86.VcpuSignals} (events from other threads), so it is tested
 * alone, against the real CPU.
 */
package dev.apiary.vmm.x86;
