package dev.apiary.vmm.intc;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The APIC bus (the system bus messages of SDM vol. 3 §11.6 and §11.11): routes interrupt messages from
 * IOAPIC redirection entries, PCI MSI writes and LAPIC ICR writes to the local APICs they address, and
 * carries level-triggered EOIs from the LAPICs back to the IOAPIC. Thread-safe; it holds no lock while
 * delivering.
 */
public final class ApicBus {
    private volatile LocalApic[] apics = new LocalApic[0];
    private volatile IntConsumer levelEoiListener = vector -> { };
    private final AtomicInteger lowestPriorityTurn = new AtomicInteger();

    /** Adds a LAPIC (each {@link LocalApic} joins its bus when constructed). */
    synchronized void register(LocalApic apic) {
        List<LocalApic> next = new ArrayList<>(List.of(apics));
        next.add(apic);
        apics = next.toArray(new LocalApic[0]);
    }

    public List<LocalApic> apics() {
        return List.of(apics);
    }

    /** Where EOIs of level-triggered vectors go (the IOAPIC, §11.8.5). */
    public void onLevelEoi(IntConsumer listener) {
        this.levelEoiListener = listener;
    }

    /**
     * Delivers a message from an IOAPIC or an MSI; returns how many LAPICs accepted it (0 when nobody
     * matched, the message was refused, or the vector was illegal).
     */
    public int deliver(InterruptMessage message) {
        return send(null, ApicRegs.SHORTHAND_NONE, message);
    }

    /** EOI of a level-triggered vector, broadcast by a LAPIC. */
    void levelEoi(int vector) {
        levelEoiListener.accept(vector);
    }

    /**
     * Sends a message from {@code from} (null for the IOAPIC and MSIs) with an ICR destination shorthand
     * (§11.6.1: none, self, all including self, all excluding self).
     */
    int send(LocalApic from, int shorthand, InterruptMessage m) {
        LocalApic[] all = apics;
        List<LocalApic> targets = new ArrayList<>(all.length);
        for (LocalApic a : all) {
            boolean match = switch (shorthand) {
                case ApicRegs.SHORTHAND_SELF -> a == from;
                case ApicRegs.SHORTHAND_ALL -> true;
                case ApicRegs.SHORTHAND_ALL_BUT_SELF -> a != from;
                default -> m.logical() ? a.matchesLogical(m.destination()) : a.matchesPhysical(m.destination());
            };
            if (match && a.globallyEnabled()) {
                targets.add(a);
            }
        }
        if (m.mode() == DeliveryMode.LOWEST_PRIORITY && targets.size() > 1) {
            LocalApic chosen = lowestPriority(targets);
            return chosen.accept(m.mode(), m.vector(), m.level()) ? 1 : 0;
        }
        int accepted = 0;
        for (LocalApic a : targets) {
            if (a.accept(m.mode(), m.vector(), m.level())) {
                accepted++;
            }
        }
        return accepted;
    }

    /**
     * Lowest-priority arbitration (§11.6.2.4), simplified as KVM does: among the targets that take fixed
     * interrupts, the lowest task-priority class wins; ties rotate so one CPU does not take them all.
     */
    private LocalApic lowestPriority(List<LocalApic> targets) {
        int best = Integer.MAX_VALUE;
        List<LocalApic> tied = new ArrayList<>();
        for (LocalApic a : targets) {
            int p = a.acceptsFixed() ? a.taskPriority() >> 4 : 0x10;
            if (p < best) {
                best = p;
                tied.clear();
            }
            if (p == best) {
                tied.add(a);
            }
        }
        return tied.get(Math.floorMod(lowestPriorityTurn.getAndIncrement(), tied.size()));
    }
}
