package dev.apiary.vmm.chipset;

import static dev.apiary.vmm.chipset.ResetRegs.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.SystemControl;

/**
 * A minimal 8042 keyboard controller at ports 0x60 (data) and 0x64 (status/command), there so that guests
 * can reset the machine the traditional way (Linux {@code reboot=kbd}: wait for the input buffer to be
 * empty, write 0xFE) and so that firmware probing it gets sane answers.
 *
 * <p>Emulated: status (input buffer always empty, system flag set, output buffer full while a reply waits);
 * commands 0x20/0x60 (read/write the command byte), 0xAA (self test → 0x55), 0xAB (interface test → 0),
 * 0xD0/0xD1 (read/write the output port: A20 remembered, bit 0 clear resets), 0xDD/0xDF (A20 off/on,
 * remembered), 0xF0–0xFF (pulse output lines: bit 0 clear pulses reset → {@link SystemControl#requestReset});
 * every other command is accepted and ignored. There is no keyboard or mouse behind it: data written for a
 * device is dropped and nothing ever arrives, and no IRQ 1 or 12 is raised. The ACPI tables describe no
 * PS/2 devices, so Linux's i8042 driver does not probe it.
 */
public final class KeyboardController implements Device {
    private static final int COMMAND_BYTE_DEFAULT = 0x45; // keyboard interrupt, system flag, translate

    private final SystemControl system;
    private final IoHandler dataHandler = new Data();
    private final IoHandler commandHandler = new Command();
    private int commandByte;
    private int outputPort;
    private int pendingCommand;
    private int outputBuffer = -1;
    private boolean lastWriteWasCommand;

    public KeyboardController(SystemControl system) {
        this.system = system;
        reset();
    }

    @Override
    public String name() {
        return "lpc-kbc";
    }

    /** Maps port 0x60 and port 0x64 (one byte each). */
    public void attach(Bus portBus) {
        portBus.register(KBC_DATA_PORT, 1, name() + "-data", dataHandler);
        portBus.register(KBC_COMMAND_PORT, 1, name() + "-command", commandHandler);
    }

    public IoHandler dataHandler() {
        return dataHandler;
    }

    public IoHandler commandHandler() {
        return commandHandler;
    }

    public synchronized boolean a20Enabled() {
        return (outputPort & KBC_OUTPUT_A20) != 0;
    }

    @Override
    public synchronized void reset() {
        commandByte = COMMAND_BYTE_DEFAULT;
        outputPort = KBC_OUTPUT_RESET | KBC_OUTPUT_A20;
        pendingCommand = 0;
        outputBuffer = -1;
        lastWriteWasCommand = false;
    }

    private synchronized int status() {
        return KBC_STATUS_UNLOCKED | KBC_STATUS_SYSTEM_FLAG | (lastWriteWasCommand ? KBC_STATUS_COMMAND : 0)
                | (outputBuffer >= 0 ? KBC_STATUS_OBF : 0); // IBF is always clear: commands complete at once
    }

    private synchronized int readData() {
        int v = outputBuffer >= 0 ? outputBuffer : 0;
        outputBuffer = -1;
        return v;
    }

    /** Returns true when the command pulses the reset line. */
    private synchronized boolean command(int cmd) {
        lastWriteWasCommand = true;
        pendingCommand = 0;
        switch (cmd) {
            case KBC_READ_COMMAND_BYTE -> outputBuffer = commandByte;
            case KBC_WRITE_COMMAND_BYTE, KBC_WRITE_OUTPUT_PORT -> pendingCommand = cmd;
            case KBC_SELF_TEST -> outputBuffer = KBC_SELF_TEST_OK;
            case KBC_INTERFACE_TEST -> outputBuffer = 0;
            case KBC_READ_OUTPUT_PORT -> outputBuffer = outputPort;
            case KBC_DISABLE_A20 -> outputPort &= ~KBC_OUTPUT_A20;
            case KBC_ENABLE_A20 -> outputPort |= KBC_OUTPUT_A20;
            default -> {
                if (cmd >= KBC_PULSE_OUTPUT_FIRST && (cmd & KBC_OUTPUT_RESET) == 0) {
                    return true;
                }
                // Anything else (enable/disable ports, password, test modes): accepted, no effect.
            }
        }
        return false;
    }

    /** Returns true when the write drives the reset line low. */
    private synchronized boolean data(int value) {
        lastWriteWasCommand = false;
        int cmd = pendingCommand;
        pendingCommand = 0;
        if (cmd == KBC_WRITE_COMMAND_BYTE) {
            commandByte = value;
        } else if (cmd == KBC_WRITE_OUTPUT_PORT) {
            outputPort = value | KBC_OUTPUT_RESET;
            return (value & KBC_OUTPUT_RESET) == 0;
        }
        // No command pending: a byte for the keyboard, which is not there.
        return false;
    }

    private final class Data implements IoHandler {
        @Override
        public long read(long offset, int size) {
            return readData();
        }

        @Override
        public void write(long offset, int size, long value) {
            if (data((int) value & 0xFF)) {
                system.requestReset("keyboard controller");
            }
        }
    }

    private final class Command implements IoHandler {
        @Override
        public long read(long offset, int size) {
            return status();
        }

        @Override
        public void write(long offset, int size, long value) {
            if (command((int) value & 0xFF)) {
                system.requestReset("keyboard controller");
            }
        }
    }
}
