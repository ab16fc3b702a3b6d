package dev.apiary.vmm.chipset;

import static dev.apiary.vmm.chipset.ResetRegs.*;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.InterruptLine;
import dev.apiary.vmm.device.SystemControl;
import java.util.ArrayDeque;

/**
 * The 8042 keyboard controller at ports 0x60 (data) and 0x64 (status/command) with a PS/2 keyboard and a PS/2
 * mouse behind it (IBM PC/AT Technical Reference, "Keyboard controller"; IBM PS/2 Hardware Interface
 * Technical Reference for the keyboard and mouse commands).
 *
 * <p>Controller: status (input buffer always empty — commands complete at once —, output buffer full and
 * "from the mouse" flags, system flag); commands 0x20/0x60 (command byte: interrupt enables for IRQ 1 and
 * IRQ 12, port disables, translation), 0xA7/0xA8/0xA9 (mouse port off/on/test), 0xAA (self test → 0x55),
 * 0xAB (interface test → 0), 0xAD/0xAE (keyboard port off/on), 0xD0/0xD1 (output port: A20 remembered, bit 0
 * clear resets), 0xD2/0xD3 (put a byte in the output buffer as if from keyboard/mouse), 0xD4 (next data
 * byte to the mouse), 0xDD/0xDF (A20), 0xF0–0xFF (pulse: bit 0 clear → reset). Others are accepted and
 * ignored. The output buffer is a queue; IRQ 1 is high while its head is a keyboard byte and the command
 * byte enables it, IRQ 12 likewise for mouse bytes (level, as QEMU drives them).
 *
 * <p>Keyboard: reset (0xFA 0xAA), identify (0xFA 0xAB 0x83, 0x41 when translating), enable/disable scanning,
 * defaults, echo, LEDs, typematic and scan code set (1 or 2; 3 is answered but sent as 2) with their
 * argument bytes. Keys come from {@link #key}: set 1 bytes when the controller translates (the PC default)
 * or set 1 was selected, else set 2. Mouse: reset (0xFA 0xAA 0x00), identify (0x00), status, sample rate,
 * resolution, scaling, stream mode, enable/disable reporting; {@link #pointer} produces standard 3-byte
 * packets while reporting is on. Bytes beyond {@link #QUEUE_LIMIT} waiting are dropped.
 */
public final class KeyboardController implements Device {
    private static final int COMMAND_BYTE_DEFAULT = 0x45; // keyboard interrupt, system flag, translate
    public static final int QUEUE_LIMIT = 64;
    private static final int AUX = 0x100;

    private static final int ACK = 0xFA;
    private static final int RESEND = 0xFE;
    private static final int BAT_OK = 0xAA;

    private final SystemControl system;
    private final InterruptLine kbdIrq;
    private final InterruptLine auxIrq;
    private final IoHandler dataHandler = new Data();
    private final IoHandler commandHandler = new Command();
    private final ArrayDeque<Integer> output = new ArrayDeque<>();
    private int commandByte;
    private int outputPort;
    private int pendingCommand;
    private int lastRead;
    private boolean lastWriteWasCommand;
    // keyboard
    private int kbdPending;
    private int scanSet;
    private boolean kbdScanning;
    // mouse
    private int auxPending;
    private boolean auxReporting;
    private int auxRate;
    private int auxResolution;
    private boolean auxScaling21;
    private int pointerX = -1;
    private int pointerY = -1;
    private int pointerButtons;

    public KeyboardController(SystemControl system) {
        this(system, level -> { }, level -> { });
    }

    /** @param kbdIrq ISA IRQ 1; @param auxIrq ISA IRQ 12 */
    public KeyboardController(SystemControl system, InterruptLine kbdIrq, InterruptLine auxIrq) {
        this.system = system;
        this.kbdIrq = kbdIrq;
        this.auxIrq = auxIrq;
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
        output.clear();
        lastRead = 0;
        lastWriteWasCommand = false;
        kbdPending = 0;
        scanSet = 2;
        kbdScanning = true;
        auxDefaults();
        auxPending = 0;
        pointerX = -1;
        pointerY = -1;
        pointerButtons = 0;
        updateIrqs();
    }

    private void auxDefaults() {
        auxReporting = false;
        auxRate = 100;
        auxResolution = 2;
        auxScaling21 = false;
    }

    /** A key pressed or released on the keyboard (from a VNC viewer, say); dropped while the keyboard is off. */
    public synchronized void key(Ps2Key key, boolean down) {
        if (!kbdScanning || (commandByte & KBC_CB_KBD_DISABLED) != 0) {
            return;
        }
        boolean set1 = (commandByte & KBC_CB_TRANSLATE) != 0 || scanSet == 1;
        int need = (key.extended() ? 1 : 0) + (set1 || down ? 1 : 2);
        if (output.size() + need > QUEUE_LIMIT) {
            return; // the keyboard's buffer is full: the key is lost, as on hardware
        }
        if (key.extended()) {
            output.add(0xE0);
        }
        if (set1) {
            output.add(down ? key.set1() : key.set1() | 0x80);
        } else {
            if (!down) {
                output.add(0xF0);
            }
            output.add(key.set2());
        }
        updateIrqs();
    }

    /**
     * The pointer at ({@code x}, {@code y}) in screen pixels with buttons (bit 0 left, 1 middle, 2 right, as
     * RFB); sent as relative motion from the previous position while the guest has reporting enabled.
     */
    public synchronized void pointer(int buttons, int x, int y) {
        int dx = pointerX < 0 ? 0 : x - pointerX;
        int dy = pointerY < 0 ? 0 : pointerY - y; // PS/2: positive is up
        pointerX = x;
        pointerY = y;
        int b = (buttons & 1) | (buttons & 4) >> 1 | (buttons & 2) << 1;
        if (!auxReporting || (commandByte & KBC_CB_AUX_DISABLED) != 0) {
            pointerButtons = b;
            return;
        }
        boolean changed = b != pointerButtons;
        pointerButtons = b;
        while (dx != 0 || dy != 0 || changed) {
            int px = Math.max(-255, Math.min(255, dx));
            int py = Math.max(-255, Math.min(255, dy));
            if (output.size() + 3 > QUEUE_LIMIT) {
                return;
            }
            output.add(AUX | 0x08 | b | (px < 0 ? 0x10 : 0) | (py < 0 ? 0x20 : 0));
            output.add(AUX | (px & 0xFF));
            output.add(AUX | (py & 0xFF));
            dx -= px;
            dy -= py;
            changed = false;
        }
        updateIrqs();
    }

    private void updateIrqs() {
        Integer head = output.peek();
        kbdIrq.set(head != null && (head & AUX) == 0 && (commandByte & KBC_CB_KBD_INT) != 0);
        auxIrq.set(head != null && (head & AUX) != 0 && (commandByte & KBC_CB_AUX_INT) != 0);
    }

    /** A reply of the controller itself: read before anything the devices queued. */
    private void reply(int b) {
        output.addFirst(b & 0xFF);
    }

    private void kbdReply(int... bytes) {
        for (int b : bytes) {
            if (output.size() < QUEUE_LIMIT) {
                output.add(b & 0xFF);
            }
        }
    }

    private void auxReply(int... bytes) {
        for (int b : bytes) {
            if (output.size() < QUEUE_LIMIT) {
                output.add(AUX | (b & 0xFF));
            }
        }
    }

    private synchronized int status() {
        Integer head = output.peek();
        return KBC_STATUS_UNLOCKED | KBC_STATUS_SYSTEM_FLAG | (lastWriteWasCommand ? KBC_STATUS_COMMAND : 0)
                | (head != null ? KBC_STATUS_OBF : 0) | (head != null && (head & AUX) != 0 ? KBC_STATUS_AUX_OBF : 0);
    }

    private synchronized int readData() {
        Integer head = output.poll();
        if (head != null) {
            lastRead = head & 0xFF;
            // Reading the output buffer drops the IRQ line; the next byte raises it again, a new edge for the
            // edge-triggered PIC/IOAPIC pin (a line kept high would deliver one interrupt for a whole reply, and
            // Linux's atkbd would never see the ID bytes after its ACK).
            kbdIrq.set(false);
            auxIrq.set(false);
        }
        updateIrqs();
        return lastRead; // an empty buffer reads the last byte again, as the 8042's latch does
    }

    /** Returns true when the command pulses the reset line. */
    private synchronized boolean command(int cmd) {
        lastWriteWasCommand = true;
        pendingCommand = 0;
        switch (cmd) {
            case KBC_READ_COMMAND_BYTE -> reply(commandByte);
            case KBC_WRITE_COMMAND_BYTE, KBC_WRITE_OUTPUT_PORT, KBC_WRITE_KBD_BUFFER, KBC_WRITE_AUX_BUFFER,
                    KBC_WRITE_AUX -> pendingCommand = cmd;
            case KBC_SELF_TEST -> reply(KBC_SELF_TEST_OK);
            case KBC_INTERFACE_TEST, KBC_AUX_TEST -> reply(0);
            case KBC_READ_OUTPUT_PORT -> reply(outputPort);
            case KBC_DISABLE_A20 -> outputPort &= ~KBC_OUTPUT_A20;
            case KBC_ENABLE_A20 -> outputPort |= KBC_OUTPUT_A20;
            case KBC_DISABLE_AUX -> commandByte |= KBC_CB_AUX_DISABLED;
            case KBC_ENABLE_AUX -> commandByte &= ~KBC_CB_AUX_DISABLED;
            case KBC_DISABLE_KEYBOARD -> commandByte |= KBC_CB_KBD_DISABLED;
            case KBC_ENABLE_KEYBOARD -> commandByte &= ~KBC_CB_KBD_DISABLED;
            default -> {
                if (cmd >= KBC_PULSE_OUTPUT_FIRST && (cmd & KBC_OUTPUT_RESET) == 0) {
                    return true;
                }
                // Anything else (password, test modes, input port): accepted, no effect.
            }
        }
        updateIrqs();
        return false;
    }

    /** Returns true when the write drives the reset line low. */
    private synchronized boolean data(int value) {
        lastWriteWasCommand = false;
        int cmd = pendingCommand;
        pendingCommand = 0;
        boolean reset = false;
        switch (cmd) {
            case KBC_WRITE_COMMAND_BYTE -> commandByte = value;
            case KBC_WRITE_OUTPUT_PORT -> {
                outputPort = value | KBC_OUTPUT_RESET;
                reset = (value & KBC_OUTPUT_RESET) == 0;
            }
            case KBC_WRITE_KBD_BUFFER -> kbdReply(value);
            case KBC_WRITE_AUX_BUFFER -> auxReply(value);
            case KBC_WRITE_AUX -> auxCommand(value);
            default -> kbdCommand(value);
        }
        updateIrqs();
        return reset;
    }

    private void kbdCommand(int b) {
        int arg = kbdPending;
        kbdPending = 0;
        if (arg == 0xF0) {
            if (b == 0) {
                kbdReply(ACK, scanSet);
            } else {
                if (b <= 3) {
                    scanSet = b == 3 ? 2 : b; // set 3 is not emulated; the guest reads back what it gets
                }
                kbdReply(ACK);
            }
            return;
        }
        if (arg != 0) { // the argument of 0xED (LEDs) or 0xF3 (typematic rate): nothing to show or repeat
            kbdReply(ACK);
            return;
        }
        switch (b) {
            case 0xFF -> {
                scanSet = 2;
                kbdScanning = true;
                kbdReply(ACK, BAT_OK);
            }
            case 0xF2 -> kbdReply(ACK, 0xAB, (commandByte & KBC_CB_TRANSLATE) != 0 ? 0x41 : 0x83);
            case 0xF4 -> {
                kbdScanning = true;
                kbdReply(ACK);
            }
            case 0xF5 -> {
                kbdScanning = false;
                kbdReply(ACK);
            }
            case 0xF6 -> {
                scanSet = 2;
                kbdReply(ACK);
            }
            case 0xEE -> kbdReply(0xEE);
            case 0xED, 0xF3, 0xF0 -> {
                kbdPending = b;
                kbdReply(ACK);
            }
            case 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE -> kbdReply(ACK);
            default -> kbdReply(RESEND);
        }
    }

    private void auxCommand(int b) {
        int arg = auxPending;
        auxPending = 0;
        if (arg == 0xF3) {
            auxRate = b;
            auxReply(ACK);
            return;
        }
        if (arg == 0xE8) {
            auxResolution = b & 3;
            auxReply(ACK);
            return;
        }
        switch (b) {
            case 0xFF -> {
                auxDefaults();
                auxReply(ACK, BAT_OK, 0x00);
            }
            case 0xF6 -> {
                auxDefaults();
                auxReply(ACK);
            }
            case 0xF5 -> {
                auxReporting = false;
                auxReply(ACK);
            }
            case 0xF4 -> {
                auxReporting = true;
                auxReply(ACK);
            }
            case 0xF2 -> auxReply(ACK, 0x00);
            case 0xE9 -> auxReply(ACK, (auxReporting ? 0x20 : 0) | (auxScaling21 ? 0x10 : 0)
                    | (pointerButtons & 1) << 2 | (pointerButtons & 4) >> 1 | (pointerButtons & 2) >> 1,
                    auxResolution, auxRate);
            case 0xE6 -> {
                auxScaling21 = false;
                auxReply(ACK);
            }
            case 0xE7 -> {
                auxScaling21 = true;
                auxReply(ACK);
            }
            case 0xF3, 0xE8 -> {
                auxPending = b;
                auxReply(ACK);
            }
            case 0xEB -> auxReply(ACK, 0x08 | pointerButtons, 0, 0);
            case 0xEA, 0xF0, 0xEC, 0xEE -> auxReply(ACK);
            default -> auxReply(RESEND);
        }
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
