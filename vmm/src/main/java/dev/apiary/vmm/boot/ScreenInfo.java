package dev.apiary.vmm.boot;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;

/**
 * A linear framebuffer described to a directly booted Linux in {@code boot_params.screen_info} (Linux
 * {@code include/uapi/linux/screen_info.h}), the way the kernel's own real-mode setup code leaves it after a VESA
 * mode switch ({@code arch/x86/boot/video-vesa.c}): {@code VIDEO_TYPE_VLFB}, 32 bits per pixel with red, green and
 * blue at bits 16, 8 and 0 (little-endian X-R-G-B, 8 reserved bits at 24). Nothing runs that setup code on a direct
 * boot ({@code vga=} does nothing there), so the VMM fills the fields itself; sysfb then registers a
 * {@code vesa-framebuffer} device, vesafb binds to it and fbcon draws the console (Debian's kernel builds in vesafb
 * and efifb, and not SYSFB_SIMPLEFB).
 *
 * <p>vesafb's needs (drivers/video/fbdev/vesafb.c): {@code orig_video_isVGA == VIDEO_TYPE_VLFB}; {@code lfb_size}
 * in 64 KiB units, at least {@code height × linelength}; {@code vesapm_seg} 0 (no protected-mode BIOS interface,
 * so no panning, redraw scrolling); {@code capabilities} bit 1 ({@code VIDEO_CAPABILITY_64BIT_BASE}, which vesafb
 * also reads as "not VGA compatible", so it never programs VGA palette registers) with {@code ext_lfb_base} the
 * high half of the base.
 *
 * @param base       guest-physical address of the first pixel (the VMM keeps it out of e820 RAM)
 * @param width      pixels per row
 * @param height     rows
 * @param lineLength bytes from one row to the next
 * @param size       bytes reserved for the framebuffer (a multiple of 64 KiB)
 */
public record ScreenInfo(long base, int width, int height, int lineLength, long size) {
    // struct screen_info, at offset 0 of struct boot_params
    static final int ORIG_VIDEO_ISVGA = 0x0F; // u8
    static final int LFB_WIDTH = 0x12; // u16
    static final int LFB_HEIGHT = 0x14; // u16
    static final int LFB_DEPTH = 0x16; // u16
    static final int LFB_BASE = 0x18; // u32
    static final int LFB_SIZE = 0x1C; // u32, 64 KiB units for VLFB
    static final int LFB_LINELENGTH = 0x24; // u16
    static final int RED_SIZE = 0x26; // u8 ×8: red, green, blue, rsvd (size, pos)
    static final int VESAPM_SEG = 0x2E; // u16
    static final int PAGES = 0x32; // u16
    static final int CAPABILITIES = 0x36; // u32
    static final int EXT_LFB_BASE = 0x3A; // u32

    /** {@code VIDEO_TYPE_VLFB}: VESA VGA in graphic mode (screen_info.h). */
    public static final int VIDEO_TYPE_VLFB = 0x23;
    public static final int VIDEO_CAPABILITY_64BIT_BASE = 1 << 1;
    public static final int BYTES_PER_PIXEL = 4;
    static final long SIZE_UNIT = 64 * 1024;

    public ScreenInfo {
        if (width <= 0 || height <= 0 || width > 0xFFFF || height > 0xFFFF || lineLength < width * BYTES_PER_PIXEL
                || lineLength > 0xFFFF || size < (long) lineLength * height || size % SIZE_UNIT != 0
                || size / SIZE_UNIT > 0xFFFF_FFFFL || base < 0) {
            throw new IllegalArgumentException(String.format("bad linear framebuffer %dx%d, line %d, size 0x%x at 0x%x",
                    width, height, lineLength, size, base));
        }
    }

    /** A packed 32-bit framebuffer of this size: its bytes, rounded up to whole 64 KiB. */
    public static long bytesFor(int width, int height) {
        long bytes = (long) width * height * BYTES_PER_PIXEL;
        return (bytes + SIZE_UNIT - 1) / SIZE_UNIT * SIZE_UNIT;
    }

    /** Writes the fields into the zero page at {@code zeroPage} (the rest of screen_info stays zero). */
    void write(GuestMemory mem, long zeroPage) throws GuestMemoryException {
        mem.write8(zeroPage + ORIG_VIDEO_ISVGA, (byte) VIDEO_TYPE_VLFB);
        mem.write16(zeroPage + LFB_WIDTH, (short) width);
        mem.write16(zeroPage + LFB_HEIGHT, (short) height);
        mem.write16(zeroPage + LFB_DEPTH, (short) 32);
        mem.write32(zeroPage + LFB_BASE, (int) base);
        mem.write32(zeroPage + LFB_SIZE, (int) (size / SIZE_UNIT));
        mem.write16(zeroPage + LFB_LINELENGTH, (short) lineLength);
        byte[] channels = {8, 16, 8, 8, 8, 0, 8, 24}; // red, green, blue, reserved: size then position
        mem.write(zeroPage + RED_SIZE, channels);
        mem.write16(zeroPage + VESAPM_SEG, (short) 0);
        mem.write16(zeroPage + PAGES, (short) 1);
        mem.write32(zeroPage + CAPABILITIES, VIDEO_CAPABILITY_64BIT_BASE);
        mem.write32(zeroPage + EXT_LFB_BASE, (int) (base >>> 32));
    }
}
