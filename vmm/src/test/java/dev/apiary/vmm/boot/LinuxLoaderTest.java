package dev.apiary.vmm.boot;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.MemoryLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LinuxLoaderTest {
    private static final long MiB = 1L << 20;
    private static final long ZP = BootLayout.ZERO_PAGE;

    private final MemoryLayout layout = MemoryLayout.forRam(64 * MiB);
    private final GuestMemory mem = GuestMemory.allocate(0, 64 * MiB);
    private final E820Map e820 = E820Map.of(layout);

    private BootState load(LinuxLoader.Request req) throws BootImageException {
        return LinuxLoader.load(mem, layout, e820, req);
    }

    private static int u8(GuestMemory m, long a) throws Exception {
        return Byte.toUnsignedInt(m.read8(a));
    }

    private static int u16(GuestMemory m, long a) throws Exception {
        return Short.toUnsignedInt(m.read16(a));
    }

    private static long u32(GuestMemory m, long a) throws Exception {
        return Integer.toUnsignedLong(m.read32(a));
    }

    @Test
    void loadsTheKernelAt1MiB() throws Exception {
        BzImage k = TestImages.bz().parse();
        BootState s = load(LinuxLoader.Request.of(k, "console=ttyS0"));
        byte[] loaded = new byte[k.protectedModeSize()];
        mem.read(0x100000, loaded, 0, loaded.length);
        assertArrayEquals(k.protectedModeCode(), loaded);
        assertEquals(0x100000, s.kernelAddress());
        // Relocatable, pref_address 16 MiB: it decompresses at 16 MiB and needs init_size (32 MiB) from there.
        assertEquals(0x100_0000 + 0x200_0000, s.kernelEnd());
    }

    @Test
    void zeroPageFieldsAreAtTheirOffsets() throws Exception {
        BzImage k = TestImages.bz().parse();
        load(LinuxLoader.Request.of(k, "console=ttyS0 panic=-1").withAcpiRsdp(0xE0000));
        // The setup header is copied from the image ...
        assertEquals(0xAA55, u16(mem, ZP + 0x1FE));
        assertEquals(0x53726448L, u32(mem, ZP + 0x202));
        assertEquals(0x020F, u16(mem, ZP + 0x206));
        assertEquals(0xFFFF, u16(mem, ZP + 0x1FA));
        assertEquals(0x20_0000, u32(mem, ZP + 0x230));
        assertEquals(2047, u32(mem, ZP + 0x238));
        // ... with the loader's fields filled in.
        assertEquals(0xFF, u8(mem, ZP + 0x210)); // type_of_loader
        assertEquals(0x81, u8(mem, ZP + 0x211)); // LOADED_HIGH | CAN_USE_HEAP
        assertEquals(0xFE00, u16(mem, ZP + 0x224)); // heap_end_ptr
        assertEquals(0x100000, u32(mem, ZP + 0x214)); // code32_start
        assertEquals(0x20000, u32(mem, ZP + 0x228)); // cmd_line_ptr
        assertEquals(0, u32(mem, ZP + 0x0C8)); // ext_cmd_line_ptr
        assertEquals(0, u32(mem, ZP + 0x218)); // no initrd
        assertEquals(0, u32(mem, ZP + 0x21C));
        assertEquals(0xE0000, mem.read64(ZP + 0x070)); // acpi_rsdp_addr
        assertEquals(0, u8(mem, ZP + 0x1EF)); // sentinel
        byte[] cmd = new byte[24];
        mem.read(0x20000, cmd, 0, cmd.length);
        assertEquals("console=ttyS0 panic=-1\0", new String(cmd, 0, 23, StandardCharsets.US_ASCII));
        // e820: count at 0x1E8, 20-byte entries at 0x2D0.
        List<E820Map.Entry> entries = e820.entries();
        assertEquals(entries.size(), u8(mem, ZP + 0x1E8));
        for (int i = 0; i < entries.size(); i++) {
            long at = ZP + 0x2D0 + 20L * i;
            assertEquals(entries.get(i).address(), mem.read64(at));
            assertEquals(entries.get(i).size(), mem.read64(at + 8));
            assertEquals(entries.get(i).type().code, u32(mem, at + 16));
        }
        assertEquals(0, mem.read64(ZP + 0x2D0 + 20L * entries.size()));
    }

    @Test
    void rsdpAddressNeedsProtocol214() throws Exception {
        load(LinuxLoader.Request.of(TestImages.bz().version(0x020D).parse(), "").withAcpiRsdp(0xE0000));
        assertEquals(0, mem.read64(ZP + 0x070));
    }

    @Test
    void theZeroPageIsClearedBeforeUse() throws Exception {
        mem.fill(ZP, 4096, (byte) 0x5A);
        load(LinuxLoader.Request.of(TestImages.bz().parse(), ""));
        assertEquals(0, mem.read64(ZP + 0x070));
        assertEquals(0, u8(mem, ZP + 0x1EF));
        assertEquals(0, u8(mem, 0x20000));
    }

    @Test
    void commandLineLengthIsCheckedAgainstCmdlineSize() throws Exception {
        BzImage k = TestImages.bz().cmdlineSize(16).parse();
        load(LinuxLoader.Request.of(k, "0123456789abcdef")); // exactly 16 fits
        BootImageException e = assertThrows(BootImageException.class,
                () -> load(LinuxLoader.Request.of(k, "0123456789abcdefg")));
        assertTrue(e.getMessage().contains("17 bytes") && e.getMessage().contains("at most 16"), e.getMessage());
        assertThrows(BootImageException.class, () -> load(LinuxLoader.Request.of(k, "a\0b")));
    }

    @Test
    void initrdGoesPageAlignedAtTheTopOfLowRam(@TempDir Path dir) throws Exception {
        byte[] rd = new byte[300_001];
        Arrays.fill(rd, (byte) 0xA5);
        rd[0] = 1;
        Path file = dir.resolve("initrd.img");
        Files.write(file, rd);
        BootState s = load(LinuxLoader.Request.of(TestImages.bz().parse(), "").withInitrd(Initrd.of(file)));
        long expect = (64 * MiB - rd.length) & ~0xFFFL;
        assertEquals(expect, s.initrdAddress());
        assertEquals(rd.length, s.initrdSize());
        assertEquals(expect, u32(mem, ZP + 0x218));
        assertEquals(rd.length, u32(mem, ZP + 0x21C));
        assertEquals(0, u32(mem, ZP + 0x0C0));
        assertEquals(0, u32(mem, ZP + 0x0C4));
        byte[] back = new byte[rd.length];
        mem.read(expect, back, 0, back.length);
        assertArrayEquals(rd, back);
    }

    /**
     * A linear framebuffer: screen_info as vesafb reads it (VIDEO_TYPE_VLFB, 32 bpp, X-R-G-B, size in 64 KiB units,
     * 64-bit base capability), and the initrd below the e820 reservation that holds the pixels.
     */
    @Test
    void screenInfoDescribesTheLinearFramebufferAndBootDataStaysBelowIt(@TempDir Path dir) throws Exception {
        long base = 61 * MiB;
        ScreenInfo si = new ScreenInfo(base, 1024, 768, 4096, ScreenInfo.bytesFor(1024, 768));
        E820Map map = E820Map.of(layout).withTopOfLowRamReserved(64 * MiB - base);
        byte[] rd = new byte[100_000];
        Path file = dir.resolve("initrd.img");
        Files.write(file, rd);
        BootState s = LinuxLoader.load(mem, layout, map, LinuxLoader.Request.of(TestImages.bz().parse(), "")
                .withInitrd(Initrd.of(file)).withScreen(si));
        assertEquals((base - rd.length) & ~0xFFFL, s.initrdAddress());
        assertEquals(0x23, u8(mem, ZP + 0x0F)); // orig_video_isVGA = VIDEO_TYPE_VLFB
        assertEquals(1024, u16(mem, ZP + 0x12));
        assertEquals(768, u16(mem, ZP + 0x14));
        assertEquals(32, u16(mem, ZP + 0x16));
        assertEquals(base, u32(mem, ZP + 0x18));
        assertEquals(48, u32(mem, ZP + 0x1C)); // 3 MiB in 64 KiB units
        assertEquals(4096, u16(mem, ZP + 0x24));
        int[] channels = new int[8];
        for (int i = 0; i < 8; i++) {
            channels[i] = u8(mem, ZP + 0x26 + i);
        }
        assertArrayEquals(new int[] {8, 16, 8, 8, 8, 0, 8, 24}, channels); // red, green, blue, reserved: size, pos
        assertEquals(0, u16(mem, ZP + 0x2E)); // vesapm_seg: no protected-mode interface
        assertEquals(2, u32(mem, ZP + 0x36)); // VIDEO_CAPABILITY_64BIT_BASE
        assertEquals(0, u32(mem, ZP + 0x3A));
        // The zero page's e820 table: RAM from 1 MiB ends where the framebuffer starts.
        int n = u8(mem, ZP + 0x1E8);
        boolean reserved = false;
        for (int i = 0; i < n; i++) {
            long at = ZP + 0x2D0 + 20L * i;
            long addr = mem.read64(at);
            long size = mem.read64(at + 8);
            long type = u32(mem, at + 16);
            if (addr == 0x100000) {
                assertEquals(base - 0x100000, size);
                assertEquals(1, type);
            }
            reserved |= addr == base && size == 3 * MiB && type == 2;
        }
        assertTrue(reserved, "the framebuffer is reserved in e820");
    }

    @Test
    void noScreenInfoWithoutAScreen() throws Exception {
        load(LinuxLoader.Request.of(TestImages.bz().parse(), ""));
        assertEquals(0, u8(mem, ZP + 0x0F));
        assertEquals(0, u32(mem, ZP + 0x18));
    }

    @Test
    void initrdStaysBelowInitrdAddrMax() throws Exception {
        BzImage k = TestImages.bz().initrdAddrMax(0x2FF_FFFF).initSize(16 * MiB).parse(); // 48 MiB - 1
        BootState s = load(LinuxLoader.Request.of(k, "").withInitrd(Initrd.of("rd", new byte[8192])));
        assertEquals(0x300_0000 - 8192, s.initrdAddress());
    }

    @Test
    void anInitrdThatDoesNotFitIsAClearError() throws Exception {
        // Kernel footprint ends at 48 MiB; 16 MiB of low RAM remain.
        BzImage k = TestImages.bz().parse();
        load(LinuxLoader.Request.of(k, "").withInitrd(Initrd.of("rd", new byte[(int) (16 * MiB)])));
        BootImageException e = assertThrows(BootImageException.class,
                () -> load(LinuxLoader.Request.of(k, "").withInitrd(Initrd.of("big.img", new byte[(int) (16 * MiB + 1)]))));
        assertTrue(e.getMessage().startsWith("big.img: the initrd") && e.getMessage().contains("does not fit"),
                e.getMessage());
    }

    @Test
    void aKernelThatDoesNotFitIsAClearError() throws Exception {
        BootImageException e = assertThrows(BootImageException.class,
                () -> load(LinuxLoader.Request.of(TestImages.bz().initSize(48 * MiB + 4096).parse(), "")));
        assertTrue(e.getMessage().contains("init_size") && e.getMessage().contains("more memory"), e.getMessage());
        // A protected-mode part bigger than low RAM fails before anything is written.
        MemoryLayout small = MemoryLayout.forRam(16 * MiB);
        GuestMemory m = GuestMemory.allocate(0, 16 * MiB);
        BzImage huge = TestImages.bz().pmSize((int) (15 * MiB + 1)).initSize(0).parse();
        e = assertThrows(BootImageException.class,
                () -> LinuxLoader.load(m, small, E820Map.of(small), LinuxLoader.Request.of(huge, "")));
        assertTrue(e.getMessage().contains("protected-mode part"), e.getMessage());
    }

    @Test
    void the64BitEntryNeedsXlfKernel64() throws Exception {
        BzImage k = TestImages.bz().xloadflags(0).parse();
        BootImageException e = assertThrows(BootImageException.class, () -> load(LinuxLoader.Request.of(k, "")));
        assertTrue(e.getMessage().contains("XLF_KERNEL_64"), e.getMessage());
        BootState s = load(LinuxLoader.Request.of(k, "").withEntry(EntryMode.PROTECTED_32));
        assertEquals(EntryMode.PROTECTED_32, s.mode());
    }

    @Test
    void longModeEntryState() throws Exception {
        BootState s = load(LinuxLoader.Request.of(TestImages.bz().parse(), ""));
        assertEquals(EntryMode.LONG_64, s.mode());
        assertEquals(0x100200, s.rip());
        assertEquals(ZP, s.rsi());
        assertEquals(BootLayout.STACK_TOP, s.rsp());
        assertEquals(0x2, s.rflags());
        assertEquals(0x80000011L, s.cr0());
        assertEquals(BootLayout.PML4, s.cr3());
        assertEquals(0x20, s.cr4());
        assertEquals(0x500, s.efer());
        assertEquals(0x500, s.gdtBase());
        assertEquals(47, s.gdtLimit());
        assertEquals(new Segment(0x10, 0, 0xFFFFFFFFL, 0xB, true, 0, false, true, true, true, false), s.cs());
        assertEquals(new Segment(0x18, 0, 0xFFFFFFFFL, 0x3, true, 0, true, true, false, true, false), s.ds());
        assertEquals(new Segment(0x20, BootLayout.TSS, 0x67, 0xB, true, 0, false, false, false, false, false), s.tr());
    }

    @Test
    void protectedModeEntryState() throws Exception {
        BootState s = load(LinuxLoader.Request.of(TestImages.bz().parse(), "").withEntry(EntryMode.PROTECTED_32));
        assertEquals(0x100000, s.rip());
        assertEquals(ZP, s.rsi());
        assertEquals(0x11, s.cr0());
        assertEquals(0, s.cr3());
        assertEquals(0, s.cr4());
        assertEquals(0, s.efer());
        assertEquals(new Segment(0x10, 0, 0xFFFFFFFFL, 0xB, true, 0, true, true, false, true, false), s.cs());
        assertEquals(BootGdt.CODE32, mem.read64(0x510));
    }

    @Test
    void gdtDescriptorsAreInGuestMemoryWithTheAccessedBitSet() throws Exception {
        load(LinuxLoader.Request.of(TestImages.bz().parse(), ""));
        assertEquals(0, mem.read64(0x500));
        assertEquals(0, mem.read64(0x508));
        assertEquals(0x00af9b000000ffffL, mem.read64(0x510));
        assertEquals(0x00cf93000000ffffL, mem.read64(0x518));
        long tss = mem.read64(0x520);
        assertEquals(Segment.fromDescriptor(0x20, tss, mem.read64(0x528)),
                new Segment(0x20, 0x580, 0x67, 0xB, true, 0, false, false, false, false, false));
        for (long a = 0x510; a <= 0x518; a += 8) {
            assertEquals(1, (mem.read64(a) >>> 40) & 1, "accessed bit at 0x" + Long.toHexString(a));
        }
        assertEquals(0x68, u16(mem, 0x580 + 0x66)); // no I/O bitmap
    }

    /** Walks PML4 → PDPT → PD like the MMU does; returns the physical address or -1 if not mapped. */
    private static long translate(GuestMemory m, long cr3, long va) throws Exception {
        long pml4e = m.read64(cr3 + ((va >>> 39) & 511) * 8);
        if ((pml4e & 1) == 0) {
            return -1;
        }
        long pdpte = m.read64((pml4e & 0x000F_FFFF_FFFF_F000L) + ((va >>> 30) & 511) * 8);
        if ((pdpte & 1) == 0) {
            return -1;
        }
        assertEquals(0, pdpte & 0x80, "no 1 GiB pages");
        long pde = m.read64((pdpte & 0x000F_FFFF_FFFF_F000L) + ((va >>> 21) & 511) * 8);
        if ((pde & 1) == 0) {
            return -1;
        }
        assertEquals(0x80, pde & 0x80, "2 MiB page");
        assertEquals(2, pde & 2, "writable");
        return (pde & 0x000F_FFFF_FFE0_0000L) | (va & 0x1F_FFFF);
    }

    @Test
    void pageTablesIdentityMapTheFirst4GiB() throws Exception {
        BootState s = load(LinuxLoader.Request.of(TestImages.bz().parse(), ""));
        List<Long> probes = new ArrayList<>(List.of(0L, 0x500L, ZP, 0x20000L, 0x100200L, 0x1234567L,
                0xBFFF_FFFFL, 0xC000_0000L, 0xFEC0_0000L, 0xFFFF_FFFFL));
        for (long va = 0; va < (4L << 30); va += 2 << 20) {
            probes.add(va + 0x1000);
        }
        for (long va : probes) {
            assertEquals(va, translate(mem, s.cr3(), va), "va 0x" + Long.toHexString(va));
        }
        assertEquals(-1, translate(mem, s.cr3(), 4L << 30));
        assertEquals(-1, translate(mem, s.cr3(), 1L << 39));
    }

    @Test
    void lowMemoryRegionsDoNotOverlap() {
        long[][] ranges = {
            {0, 0x500}, // IVT + BIOS data area
            {BootLayout.GDT, BootLayout.GDT + BootLayout.GDT_SIZE},
            {BootLayout.TSS, BootLayout.TSS + BootLayout.TSS_SIZE},
            {BootLayout.ZERO_PAGE, BootLayout.ZERO_PAGE + BootParams.SIZE},
            {BootLayout.STACK_BOTTOM, BootLayout.STACK_TOP + 0x10},
            {BootLayout.PML4, BootLayout.PAGE_TABLES_END},
            {BootLayout.CMDLINE, BootLayout.CMDLINE + BootLayout.CMDLINE_MAX},
            {BootLayout.EBDA, BootLayout.EBDA_END},
            {BootLayout.ACPI, BootLayout.ACPI_END},
            {BootLayout.KERNEL, BootLayout.KERNEL + 1},
        };
        for (int i = 0; i < ranges.length; i++) {
            for (int j = i + 1; j < ranges.length; j++) {
                boolean overlap = ranges[i][0] < ranges[j][1] && ranges[j][0] < ranges[i][1];
                assertFalse(overlap, "ranges " + i + " and " + j + " overlap");
            }
            assertTrue(ranges[i][1] <= (i < ranges.length - 1 ? ranges[i + 1][0] : Long.MAX_VALUE), "sorted " + i);
        }
        assertEquals(0x9000, BootLayout.STACK_TOP + 0x10);
    }
}
