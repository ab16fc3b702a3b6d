package dev.apiary.vmm.intc;

/**
 * One 8259A (Intel 8259A datasheet): IRR, ISR and IMR, the ICW1–4 initialization sequence, OCW1–3, fully
 * nested priority with rotation, auto-EOI, special mask mode, poll, and edge or level sensing per input (the
 * PIIX's ELCR, or LTIM for the whole chip). Not thread-safe: {@link Pic8259Pair} holds the lock.
 */
final class Pic8259 {
    private final boolean master;
    /** Inputs that may be level-sensitive in the ELCR (PIIX3 §4.1.10: IRQ 0, 1, 2, 8 and 13 are edge only). */
    private final int elcrWritable;

    int irr;
    int isr;
    int imr;
    int elcr;
    int vectorBase;
    /** Input levels, for edge detection. */
    private int lines;
    /** The input with the lowest priority (7 after initialization; rotation moves it). */
    private int lowest;
    private boolean autoEoi;
    private boolean rotateOnAutoEoi;
    private boolean specialMask;
    private boolean specialFullyNested;
    private boolean readIsr;
    private boolean pollPending;
    private boolean levelTriggeredAll;
    private boolean single;
    private boolean expectIcw4;
    /** 0 when initialized; 2, 3 or 4 while the next data-port write is ICW2, ICW3 or ICW4. */
    private int initStep;

    Pic8259(boolean master) {
        this.master = master;
        this.elcrWritable = master ? 0xF8 : 0xDE;
        reset();
    }

    /** Power-on: every input masked (so a guest that never programs the PIC gets no stray vectors 0–7). */
    void reset() {
        irr = 0;
        isr = 0;
        imr = 0xFF;
        elcr = 0;
        vectorBase = master ? 0x08 : 0x70;
        lowest = 7;
        autoEoi = false;
        rotateOnAutoEoi = false;
        specialMask = false;
        specialFullyNested = false;
        readIsr = false;
        pollPending = false;
        levelTriggeredAll = false;
        single = false;
        expectIcw4 = false;
        initStep = 0;
    }

    private boolean levelSensitive(int irq) {
        // The master's cascade input follows the slave's INT output as a level.
        return levelTriggeredAll || (elcr & (1 << irq)) != 0 || (master && irq == 2);
    }

    void setInput(int irq, boolean level) {
        int bit = 1 << irq;
        if (levelSensitive(irq)) {
            irr = level ? irr | bit : irr & ~bit;
        } else if (level && (lines & bit) == 0) {
            irr |= bit;
        }
        lines = level ? lines | bit : lines & ~bit;
    }

    private int priority(int irq) {
        return (irq - lowest - 1) & 7;
    }

    private int highest(int set) {
        int best = -1;
        for (int irq = 0; irq < 8; irq++) {
            if ((set & (1 << irq)) != 0 && (best < 0 || priority(irq) < priority(best))) {
                best = irq;
            }
        }
        return best;
    }

    private int highestInService() {
        int set = isr;
        if (specialMask) {
            set &= ~imr; // special mask mode: masked in-service levels do not block lower ones
        }
        if (master && specialFullyNested) {
            set &= ~(1 << 2); // the slave resolves its own priorities
        }
        return highest(set);
    }

    /** The input INT is raised for, or -1 when INT is low. */
    int output() {
        int p = highest(irr & ~imr);
        if (p < 0) {
            return -1;
        }
        int s = highestInService();
        return s >= 0 && priority(s) <= priority(p) ? -1 : p;
    }

    /** The INTA cycle for input {@code irq}: moves it into service; returns its vector. */
    int acknowledge(int irq) {
        int bit = 1 << irq;
        if (autoEoi) {
            if (rotateOnAutoEoi) {
                lowest = irq;
            }
        } else {
            isr |= bit;
        }
        if (!levelSensitive(irq)) {
            irr &= ~bit;
        }
        return vectorBase + irq;
    }

    /** The vector of a spurious interrupt (IRQ 7 of this chip, nothing put in service). */
    int spuriousVector() {
        return vectorBase + 7;
    }

    boolean takePoll() {
        boolean p = pollPending;
        pollPending = false;
        return p;
    }

    /** Command port (A0 = 0) write: ICW1, OCW2 or OCW3. */
    void writeCommand(int v) {
        if ((v & 0x10) != 0) {
            // ICW1: clears the IMR and ISR, resets the edge sense (a line already high needs a new edge).
            imr = 0;
            isr = 0;
            irr &= lines & elcr;
            lowest = 7;
            specialMask = false;
            readIsr = false;
            pollPending = false;
            autoEoi = false;
            rotateOnAutoEoi = false;
            specialFullyNested = false;
            expectIcw4 = (v & 0x01) != 0;
            single = (v & 0x02) != 0;
            levelTriggeredAll = (v & 0x08) != 0;
            initStep = 2;
        } else if ((v & 0x08) != 0) {
            // OCW3
            if ((v & 0x04) != 0) {
                pollPending = true;
            }
            if ((v & 0x02) != 0) {
                readIsr = (v & 0x01) != 0;
            }
            if ((v & 0x40) != 0) {
                specialMask = (v & 0x20) != 0;
            }
        } else {
            writeOcw2(v);
        }
    }

    private void writeOcw2(int v) {
        int level = v & 7;
        switch (v >> 5) {
            case 0 -> rotateOnAutoEoi = false;
            case 4 -> rotateOnAutoEoi = true;
            case 1, 5 -> { // non-specific EOI (5: and rotate)
                int irq = highestInService();
                if (irq >= 0) {
                    isr &= ~(1 << irq);
                    if (v >> 5 == 5) {
                        lowest = irq;
                    }
                }
            }
            case 3 -> isr &= ~(1 << level); // specific EOI
            case 7 -> { // rotate on specific EOI
                isr &= ~(1 << level);
                lowest = level;
            }
            case 6 -> lowest = level; // set priority
            default -> { } // 2: no operation
        }
    }

    /** Data port (A0 = 1) write: ICW2–4 during initialization, else OCW1 (the IMR). */
    void writeData(int v) {
        switch (initStep) {
            case 2 -> {
                vectorBase = v & 0xF8;
                initStep = single ? (expectIcw4 ? 4 : 0) : 3;
            }
            case 3 -> initStep = expectIcw4 ? 4 : 0; // cascade wiring is fixed: slave on master IRQ 2
            case 4 -> {
                autoEoi = (v & 0x02) != 0;
                specialFullyNested = (v & 0x10) != 0;
                initStep = 0;
            }
            default -> imr = v & 0xFF;
        }
    }

    int readCommand() {
        return readIsr ? isr : irr;
    }

    void writeElcr(int v) {
        elcr = v & elcrWritable;
        int level = elcr | (levelTriggeredAll ? 0xFF : 0);
        irr = (irr & ~level) | (lines & level);
    }
}
