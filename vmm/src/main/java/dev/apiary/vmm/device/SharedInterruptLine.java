package dev.apiary.vmm.device;

/**
 * A level-triggered wire shared by several sources (PCI INTx is wired-OR: several functions can sit on one
 * GSI; COM1 and COM3 share ISA IRQ 4). The output is high while any source drives it high, so one device deasserting cannot hide another's
 * pending interrupt.
 */
public final class SharedInterruptLine {
    private final InterruptLine output;
    private int highSources;

    public SharedInterruptLine(InterruptLine output) {
        this.output = output;
    }

    /** A new input of this wire. */
    public InterruptLine newSource() {
        return new InterruptLine() {
            private boolean level;

            @Override
            public void set(boolean high) {
                synchronized (SharedInterruptLine.this) {
                    if (high == level) {
                        return;
                    }
                    level = high;
                    highSources += high ? 1 : -1;
                    if (high && highSources == 1) {
                        output.set(true);
                    } else if (!high && highSources == 0) {
                        output.set(false);
                    }
                }
            }
        };
    }
}
