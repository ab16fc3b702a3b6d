package dev.apiary.vmm.intc;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.InterruptLine;

/**
 * The PC's two cascaded 8259As: the master at ports 0x20/0x21 (ISA IRQ 0–7), the slave at 0xA0/0xA1
 * (IRQ 8–15) on the master's IRQ 2, and the PIIX edge/level control registers (ELCR) at 0x4D0/0x4D1. The
 * master's INT output drives {@link #connectOutput the output line} (the boot CPU's LINT0), and
 * {@link #acknowledge()} is the INTA cycle that line's ExtINT delivery runs.
 *
 * <p>A request that goes away before INTA (a level input dropped, or masked) yields the master's spurious
 * IRQ 7 with nothing put in service, as the chip does; the slave's INT is a level on the master's IRQ 2, so
 * a vanished slave request takes the same path. (The slave's own spurious IRQ 15, a request lost between
 * the master's and the slave's INTA pulses, cannot happen here: the INTA cycle is atomic; the path exists
 * and is defensive.) Thread-safe: one lock for both chips.
 */
public final class Pic8259Pair {
    public static final int MASTER_PORT = 0x20;
    public static final int SLAVE_PORT = 0xA0;
    public static final int ELCR_PORT = 0x4D0;

    private final Pic8259 master = new Pic8259(true);
    private final Pic8259 slave = new Pic8259(false);
    private final InterruptLine[] inputs = new InterruptLine[16];
    private InterruptLine output = level -> { };
    private boolean outputLevel;

    public Pic8259Pair() {
        for (int i = 0; i < 16; i++) {
            int irq = i;
            inputs[i] = level -> setInput(irq, level);
        }
    }

    /** Where INT goes (the boot CPU's {@link LocalApic#lint0()}). */
    public synchronized void connectOutput(InterruptLine intr) {
        this.output = intr;
        intr.set(outputLevel);
    }

    /** ISA IRQ {@code irq} (0–15). IRQ 2 is the cascade and is not an input of its own. */
    public InterruptLine input(int irq) {
        return inputs[irq];
    }

    /** Whether INT is high. */
    public synchronized boolean output() {
        return outputLevel;
    }

    /** Power-on state of both chips. */
    public synchronized void reset() {
        master.reset();
        slave.reset();
        update();
    }

    /** The interrupt-acknowledge cycle: the vector of the highest-priority request, now in service. */
    public synchronized int acknowledge() {
        int irq = master.output();
        int vector;
        if (irq < 0) {
            vector = master.spuriousVector();
        } else if (irq == 2) {
            master.acknowledge(2);
            int s = slave.output();
            vector = s < 0 ? slave.spuriousVector() : slave.acknowledge(s);
        } else {
            vector = master.acknowledge(irq);
        }
        update();
        return vector;
    }

    /** Maps the command/data ports of both chips and the ELCR. */
    public void attach(Bus ports) {
        ports.register(MASTER_PORT, 2, "pic-master", chipPorts(master));
        ports.register(SLAVE_PORT, 2, "pic-slave", chipPorts(slave));
        ports.register(ELCR_PORT, 2, "pic-elcr", elcrPorts());
    }

    /** The command (offset 0) and data (offset 1) ports of one chip. */
    public IoHandler masterPorts() {
        return chipPorts(master);
    }

    public IoHandler slavePorts() {
        return chipPorts(slave);
    }

    /** ELCR1 (offset 0, master) and ELCR2 (offset 1, slave). */
    public IoHandler elcrPorts() {
        return new BytePorts() {
            @Override
            int readByte(int offset) {
                return offset == 0 ? master.elcr : slave.elcr;
            }

            @Override
            void writeByte(int offset, int value) {
                (offset == 0 ? master : slave).writeElcr(value);
            }
        };
    }

    private IoHandler chipPorts(Pic8259 chip) {
        return new BytePorts() {
            @Override
            int readByte(int offset) {
                if (offset == 1) {
                    return chip.imr;
                }
                return chip.takePoll() ? poll(chip) : chip.readCommand();
            }

            @Override
            void writeByte(int offset, int value) {
                if (offset == 0) {
                    chip.writeCommand(value);
                } else {
                    chip.writeData(value);
                }
            }
        };
    }

    /** OCW3 poll: the read acts as an INTA; bit 7 says whether there was a request, bits 2:0 which. */
    private int poll(Pic8259 chip) {
        int irq = chip.output();
        if (irq < 0) {
            return 0;
        }
        chip.acknowledge(irq);
        return 0x80 | irq;
    }

    private void setInput(int irq, boolean level) {
        synchronized (this) {
            if (irq < 8) {
                if (irq != 2) {
                    master.setInput(irq, level);
                }
            } else {
                slave.setInput(irq - 8, level);
            }
            update();
        }
    }

    /** Propagates the slave's INT to the master's IRQ 2 and the master's INT to the output line. */
    private void update() {
        master.setInput(2, slave.output() >= 0);
        boolean level = master.output() >= 0;
        if (level != outputLevel) {
            outputLevel = level;
            output.set(level);
        }
    }

    /** Byte-wide ports (wider accesses are split, as on the ISA bus); serialized on the pair. */
    private abstract class BytePorts implements IoHandler {
        abstract int readByte(int offset);

        abstract void writeByte(int offset, int value);

        @Override
        public long read(long offset, int size) {
            synchronized (Pic8259Pair.this) {
                long v = 0;
                for (int i = 0; i < size; i++) {
                    long at = offset + i;
                    long b = at >= 0 && at < 2 ? readByte((int) at) & 0xFF : 0xFF;
                    v |= b << (8 * i);
                }
                update();
                return v;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            synchronized (Pic8259Pair.this) {
                for (int i = 0; i < size; i++) {
                    long at = offset + i;
                    if (at >= 0 && at < 2) {
                        writeByte((int) at, (int) (value >>> (8 * i)) & 0xFF);
                    }
                }
                update();
            }
        }
    }
}
