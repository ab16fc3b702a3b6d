package dev.apiary.vmm.display;

import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.fwcfg.FwCfg;
import dev.apiary.vmm.memory.GuestMemory;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;

/**
 * QEMU's ramfb: a framebuffer in guest RAM that the guest describes by writing the fw_cfg file
 * {@code etc/ramfb} through fw_cfg DMA (OVMF's QemuRamfbDxe does; so does the guest kit). The file is a
 * 28-byte big-endian {@code RAMFBCfg}: u64 address, u32 fourcc, u32 flags, u32 width, u32 height, u32 stride
 * (0 = width × bytes per pixel). A configuration that is not valid (unknown format, size 0 or above
 * {@link #MAX_SIZE}, stride too small, pixels not entirely in guest RAM) is ignored with a log line and the
 * previous picture stays, as QEMU does.
 */
public final class Ramfb implements Device {
    private static final System.Logger LOG = System.getLogger(Ramfb.class.getName());

    public static final String FILE = "etc/ramfb";
    public static final int CONFIG_SIZE = 28;
    public static final int MAX_SIZE = 8192;

    private final GuestMemory memory;
    private final Framebuffer framebuffer;

    public Ramfb(GuestMemory memory, Framebuffer framebuffer) {
        this.memory = memory;
        this.framebuffer = framebuffer;
    }

    @Override
    public String name() {
        return "display-ramfb";
    }

    /** Adds {@code etc/ramfb} (writable) to fw_cfg. */
    public void attach(FwCfg fwCfg) {
        fwCfg.addFile(FILE, new byte[CONFIG_SIZE], (data, off, len) -> configure(data));
    }

    @Override
    public void reset() {
        framebuffer.reset();
    }

    /** Applies a complete RAMFBCfg; returns the surface, or null when it was refused. */
    Surface configure(byte[] cfg) {
        ByteBuffer b = ByteBuffer.wrap(cfg); // big-endian
        long address = b.getLong(0);
        int fourcc = b.getInt(8);
        int width = b.getInt(16);
        int height = b.getInt(20);
        int stride = b.getInt(24);
        GuestPixelFormat format = GuestPixelFormat.ofFourcc(fourcc);
        String why = null;
        if (format == null) {
            why = String.format("unsupported fourcc 0x%08x", fourcc);
        } else if (width <= 0 || height <= 0 || width > MAX_SIZE || height > MAX_SIZE) {
            why = "size " + Integer.toUnsignedString(width) + "x" + Integer.toUnsignedString(height);
        } else {
            if (stride == 0) {
                stride = width * format.bytesPerPixel;
            }
            if (stride < 0 || stride < width * format.bytesPerPixel) {
                why = "stride " + Integer.toUnsignedString(stride) + " below width × bpp";
            }
        }
        if (why == null) {
            Surface s = new Surface(address, format, width, height, stride);
            if (!memory.isValid(address, s.span())) {
                why = String.format("framebuffer 0x%x+0x%x is not guest RAM", address, s.span());
            } else {
                framebuffer.setSurface(s);
                LOG.log(Level.INFO, () -> "ramfb: " + s);
                return s;
            }
        }
        String reason = why;
        LOG.log(Level.WARNING, () -> "ramfb: configuration ignored: " + reason);
        return null;
    }
}
