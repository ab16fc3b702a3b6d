package dev.apiary.vmm.intc;

import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.InterruptLine;

/**
 * The I/O APIC (Intel 82093AA datasheet; the ICH's version 0x20 with the EOI register): 24 input pins, each
 * with a 64-bit redirection entry, reached through IOREGSEL (0x00) and IOWIN (0x10) in its MMIO window.
 *
 * <p>Pins are wires: {@link #pin(int)} takes the electrical level, and an active-low entry (polarity bit)
 * inverts it. Edge-triggered entries send a message on each rising edge of the (polarity-corrected) input;
 * an edge while masked is lost. Level-triggered entries send while the input is asserted and the remote IRR
 * is clear, set the remote IRR when a LAPIC accepted the message, and clear it at the EOI of that vector (a
 * LAPIC's broadcast, or a write to the EOI register at 0x40), sending again if the input is still asserted.
 * Unmasking an asserted level entry sends it.
 *
 * <p>Delivery status always reads idle: messages go out at once.
 */
public final class IoApic implements IoHandler {
    public static final int PINS = 24;
    /** Version 0x20 (has the EOI register), maximum redirection entry 23. */
    public static final int VERSION = 0x20 | ((PINS - 1) << 16);

    static final int IOREGSEL = 0x00;
    static final int IOWIN = 0x10;
    static final int EOI = 0x40;
    static final int REG_ID = 0x00;
    static final int REG_VERSION = 0x01;
    static final int REG_ARBITRATION = 0x02;
    static final int REG_REDIRECTION = 0x10;

    static final long MASKED = 1L << 16;
    static final long LEVEL = 1L << 15;
    static final long REMOTE_IRR = 1L << 14;
    static final long ACTIVE_LOW = 1L << 13;
    static final long LOGICAL = 1L << 11;
    /** Vector, delivery mode, destination mode, polarity, trigger, mask; destination bits 63:56. */
    static final long WRITABLE_LOW = 0xFF | 0x700 | LOGICAL | ACTIVE_LOW | LEVEL | MASKED;
    static final long WRITABLE_HIGH = 0xFFL << 56;

    private final int resetId;
    private final ApicBus bus;
    private final Object lock = new Object();
    private final long[] entries = new long[PINS];
    private final boolean[] input = new boolean[PINS];
    private final InterruptLine[] pins = new InterruptLine[PINS];
    private int select;
    private int id;

    /**
     * @param id  the IOAPIC ID the MADT gives it
     * @param bus where its messages go; the IOAPIC listens there for level-triggered EOIs
     */
    public IoApic(int id, ApicBus bus) {
        this.resetId = id & 0xF;
        this.bus = bus;
        for (int i = 0; i < PINS; i++) {
            int pin = i;
            pins[i] = level -> setPin(pin, level);
        }
        reset();
        bus.onLevelEoi(this::eoi);
    }

    /** Input pin {@code n} (0–23), driven with its electrical level. */
    public InterruptLine pin(int n) {
        return pins[n];
    }

    /** Power-on: every entry masked, edge, active high; the pins keep the levels their wires drive. */
    public void reset() {
        synchronized (lock) {
            for (int i = 0; i < PINS; i++) {
                entries[i] = MASKED;
            }
            select = 0;
            id = resetId;
        }
    }

    /** The EOI of {@code vector} (a LAPIC's broadcast or the EOI register). */
    public void eoi(int vector) {
        synchronized (lock) {
            for (int i = 0; i < PINS; i++) {
                long e = entries[i];
                if ((e & REMOTE_IRR) != 0 && (e & 0xFF) == (vector & 0xFF)) {
                    entries[i] = e & ~REMOTE_IRR;
                    serviceLevel(i);
                }
            }
        }
    }

    /** The redirection entry of pin {@code n} as the guest would read it (for tests and state dumps). */
    public long entry(int n) {
        synchronized (lock) {
            return entries[n];
        }
    }

    private void setPin(int n, boolean level) {
        synchronized (lock) {
            boolean before = asserted(n);
            input[n] = level;
            long e = entries[n];
            if ((e & LEVEL) != 0) {
                serviceLevel(n);
            } else if (asserted(n) && !before && (e & MASKED) == 0) {
                send(e);
            }
        }
    }

    private boolean asserted(int n) {
        return input[n] ^ ((entries[n] & ACTIVE_LOW) != 0);
    }

    /** Sends a level-triggered pin's message if it is asserted, unmasked and not awaiting an EOI. */
    private void serviceLevel(int n) {
        long e = entries[n];
        if ((e & LEVEL) == 0 || (e & (MASKED | REMOTE_IRR)) != 0 || !asserted(n)) {
            return;
        }
        DeliveryMode mode = DeliveryMode.of((int) (e >> 8));
        int accepted = send(e);
        // Only fixed and lowest-priority messages set a TMR bit, and so come back as an EOI.
        if (accepted > 0 && (mode == DeliveryMode.FIXED || mode == DeliveryMode.LOWEST_PRIORITY)) {
            entries[n] = e | REMOTE_IRR;
        }
    }

    private int send(long e) {
        DeliveryMode mode = DeliveryMode.of((int) (e >> 8));
        if (mode == null) {
            return 0;
        }
        return bus.deliver(new InterruptMessage((int) (e >>> 56), (e & LOGICAL) != 0, mode, (int) e & 0xFF,
                (e & LEVEL) != 0));
    }

    @Override
    public long read(long offset, int size) {
        synchronized (lock) {
            if (offset == IOREGSEL) {
                return select;
            }
            if (offset == IOWIN) {
                return readIndirect(select) & 0xFFFF_FFFFL;
            }
            return 0;
        }
    }

    @Override
    public void write(long offset, int size, long value) {
        synchronized (lock) {
            if (offset == IOREGSEL) {
                select = (int) value & 0xFF;
            } else if (offset == IOWIN && size >= 4) {
                writeIndirect(select, (int) value);
            } else if (offset == EOI) {
                int vector = (int) value & 0xFF;
                eoi(vector);
            }
        }
    }

    private int readIndirect(int reg) {
        if (reg >= REG_REDIRECTION && reg < REG_REDIRECTION + 2 * PINS) {
            long e = entries[(reg - REG_REDIRECTION) >> 1];
            return (reg & 1) == 0 ? (int) e : (int) (e >>> 32);
        }
        return switch (reg) {
            case REG_ID, REG_ARBITRATION -> id << 24;
            case REG_VERSION -> VERSION;
            default -> 0;
        };
    }

    private void writeIndirect(int reg, int value) {
        if (reg == REG_ID) {
            id = (value >>> 24) & 0xF;
            return;
        }
        if (reg < REG_REDIRECTION || reg >= REG_REDIRECTION + 2 * PINS) {
            return;
        }
        int n = (reg - REG_REDIRECTION) >> 1;
        long e = entries[n];
        long v = value & 0xFFFF_FFFFL;
        if ((reg & 1) == 0) {
            e = (e & ~WRITABLE_LOW) | (v & WRITABLE_LOW);
            if ((e & LEVEL) == 0) {
                e &= ~REMOTE_IRR; // the remote IRR means nothing for an edge-triggered entry
            }
        } else {
            e = (e & ~WRITABLE_HIGH) | ((v << 32) & WRITABLE_HIGH);
        }
        entries[n] = e;
        serviceLevel(n);
    }
}
