package dev.apiary.vmm.chipset;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.bus.IoHandler;
import dev.apiary.vmm.device.Device;
import java.lang.System.Logger.Level;
import java.util.function.IntConsumer;

/**
 * The QEMU debug console (isa-debugcon) at port 0x402 — SeaBIOS, OVMF's debug builds and the guest kit write
 * their log there — and the POST code port 0x80, where firmware writes progress codes and Linux writes for
 * I/O delays.
 *
 * <p>0x402: every byte written goes to the sink; reads return 0xE9, which is how guests detect the port (as
 * QEMU's {@code readback} default). 0x80: the last byte written is kept for the machine
 * ({@link #postCode()}) and read back by the guest.
 */
public final class DebugPorts implements Device {
    private static final System.Logger LOG = System.getLogger(DebugPorts.class.getName());

    public static final int DEBUGCON_PORT = 0x402;
    public static final int DEBUGCON_READBACK = 0xE9;
    public static final int POST_PORT = 0x80;

    private final IntConsumer debugconSink;
    private final IoHandler debugconHandler = new Debugcon();
    private final IoHandler postHandler = new Post();
    private volatile int postCode;

    /** @param debugconSink each byte written to port 0x402 (0–255), in order, on the vCPU thread */
    public DebugPorts(IntConsumer debugconSink) {
        this.debugconSink = debugconSink;
    }

    @Override
    public String name() {
        return "lpc-debug-ports";
    }

    /** Maps port 0x402 and port 0x80 (one byte each). */
    public void attach(Bus portBus) {
        portBus.register(DEBUGCON_PORT, 1, "lpc-debugcon", debugconHandler);
        portBus.register(POST_PORT, 1, "lpc-post", postHandler);
    }

    public IoHandler debugconHandler() {
        return debugconHandler;
    }

    public IoHandler postHandler() {
        return postHandler;
    }

    /** The last POST code the guest wrote to port 0x80. */
    public int postCode() {
        return postCode;
    }

    @Override
    public void reset() {
        postCode = 0;
    }

    private final class Debugcon implements IoHandler {
        @Override
        public long read(long offset, int size) {
            return DEBUGCON_READBACK;
        }

        @Override
        public void write(long offset, int size, long value) {
            try {
                synchronized (this) {
                    debugconSink.accept((int) value & 0xFF);
                }
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "debug console sink failed; byte dropped", e);
            }
        }
    }

    private final class Post implements IoHandler {
        @Override
        public long read(long offset, int size) {
            return postCode;
        }

        @Override
        public void write(long offset, int size, long value) {
            postCode = (int) value & 0xFF;
        }
    }
}
