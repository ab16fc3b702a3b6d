package dev.apiary.vmm.boot;

import static dev.apiary.vmm.boot.BootParams.*;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.memory.GuestMemoryException;
import dev.apiary.vmm.memory.MemoryLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Loads a Linux bzImage the way the x86 boot protocol's 32-bit and 64-bit entries expect (boot.rst, "32-bit
 * boot protocol" and "64-bit boot protocol"): the protected-mode part at 1 MiB, a zero page built from the
 * image's setup header, the command line, an initrd as high as the kernel allows, the e820 map, the boot GDT
 * and (for the 64-bit entry) identity page tables. The real-mode setup code is never run.
 *
 * <p>Every size is checked against the guest's low RAM before anything is written, so a kernel, initrd or
 * command line that does not fit ends in a {@link BootImageException} that says which and by how much.
 */
public final class LinuxLoader {
    private LinuxLoader() {}

    /** Heap end for the real-mode code, as an offset from the setup segment (boot.rst's usual 0xFE00). */
    static final int HEAP_END = 0xFE00;
    static final long PAGE = 4096;

    /**
     * What to boot.
     *
     * @param kernel          the parsed bzImage
     * @param initrd          an initial ramdisk, if any
     * @param cmdline         the kernel command line (without NUL)
     * @param acpiRsdpAddress the RSDP's guest-physical address, 0 for none (the kernel then scans 0xE0000–0xFFFFF)
     * @param entry           which entry protocol to use
     * @param screen          a linear framebuffer to describe in screen_info, if the machine has a display
     */
    public record Request(BzImage kernel, Optional<Initrd> initrd, String cmdline, long acpiRsdpAddress,
            EntryMode entry, Optional<ScreenInfo> screen) {
        public Request {
            if (kernel == null || initrd == null || cmdline == null || entry == null || screen == null) {
                throw new NullPointerException("kernel, initrd, cmdline, entry and screen are required");
            }
        }

        /** A 64-bit boot of {@code kernel} with this command line, no initrd, no RSDP address and no screen. */
        public static Request of(BzImage kernel, String cmdline) {
            return new Request(kernel, Optional.empty(), cmdline, 0, EntryMode.LONG_64, Optional.empty());
        }

        public Request withInitrd(Initrd initrd) {
            return new Request(kernel, Optional.of(initrd), cmdline, acpiRsdpAddress, entry, screen);
        }

        public Request withAcpiRsdp(long address) {
            return new Request(kernel, initrd, cmdline, address, entry, screen);
        }

        public Request withEntry(EntryMode mode) {
            return new Request(kernel, initrd, cmdline, acpiRsdpAddress, mode, screen);
        }

        public Request withScreen(ScreenInfo s) {
            return new Request(kernel, initrd, cmdline, acpiRsdpAddress, entry, Optional.of(s));
        }
    }

    /**
     * Writes everything the kernel needs into guest memory and returns the boot vCPU's register state.
     *
     * @param mem    guest RAM; must hold the layout's low RAM
     * @param layout the machine's memory layout
     * @param e820   the memory map to hand to the kernel (usually {@link E820Map#of(MemoryLayout)})
     */
    public static BootState load(GuestMemory mem, MemoryLayout layout, E820Map e820, Request req)
            throws BootImageException {
        if (!mem.isValid(0, layout.lowRamBytes())) {
            throw new IllegalArgumentException("guest memory does not cover the layout's low RAM (0x"
                    + Long.toHexString(layout.lowRamBytes()) + " bytes)");
        }
        BzImage k = req.kernel();
        String name = k.name();
        if (req.entry() == EntryMode.LONG_64 && !k.has64BitEntry()) {
            throw new BootImageException(name + ": the kernel has no 64-bit entry point (boot protocol "
                    + BootParams.version(k.protocolVersion()) + ", xloadflags XLF_KERNEL_64 "
                    + (k.protocolVersion() < PROTOCOL_XLOADFLAGS ? "not defined before 2.12" : "clear")
                    + "); a 32-bit kernel needs the 32-bit entry");
        }
        // Boot data goes only where the e820 map says RAM (a framebuffer may be reserved at the top of low RAM).
        long ramEnd = e820.ramEnd(BootLayout.KERNEL);
        long lowTop = ramEnd > 0 ? Math.min(ramEnd, layout.lowRamBytes()) : layout.lowRamBytes();

        // The image itself, at 1 MiB.
        long kernelAddress = BootLayout.KERNEL;
        long imageEnd = kernelAddress + k.protectedModeSize();
        if (imageEnd > lowTop) {
            throw new BootImageException(String.format("%s: the kernel's protected-mode part (%s) does not fit in"
                    + " guest RAM below 0x%x (%s of low RAM)", name, mib(k.protectedModeSize()), lowTop, mib(lowTop)));
        }
        // Where it will decompress and run: a relocatable kernel rounds its load address up to kernel_alignment
        // but never goes below pref_address (LOAD_PHYSICAL_ADDR); a fixed one moves to pref_address. It then
        // needs init_size bytes from there before it reads the e820 map.
        long align = Math.max(k.kernelAlignment(), 1);
        long runAddress = Math.max(alignUp(kernelAddress, align), k.prefAddress());
        if (!k.relocatable()) {
            runAddress = Math.max(k.prefAddress(), kernelAddress);
        }
        long kernelEnd = Math.max(runAddress + k.initSize(), imageEnd);
        if (kernelEnd > lowTop) {
            throw new BootImageException(String.format("%s: the kernel needs memory up to 0x%x to boot (run address"
                    + " 0x%x + init_size %s), but guest RAM below 4 GiB ends at 0x%x: give the VM more memory",
                    name, kernelEnd, runAddress, mib(k.initSize()), lowTop));
        }

        // The command line.
        byte[] cmdline = req.cmdline().getBytes(StandardCharsets.UTF_8);
        if (req.cmdline().indexOf('\0') >= 0) {
            throw new BootImageException("kernel command line contains a NUL character");
        }
        long maxCmdline = Math.min(k.cmdlineSize(), BootLayout.CMDLINE_MAX - 1);
        if (cmdline.length > maxCmdline) {
            throw new BootImageException(String.format("kernel command line is %d bytes, but %s accepts at most %d"
                    + " (cmdline_size)", cmdline.length, name, maxCmdline));
        }

        // The initrd: page-aligned, as high as both the kernel (initrd_addr_max) and low RAM allow, above the
        // kernel's boot footprint. (Low RAM ends at or below 3 GiB, so the ext_ramdisk_* high halves stay 0.)
        long initrdAddress = 0;
        long initrdSize = 0;
        if (req.initrd().isPresent() && req.initrd().get().size() > 0) {
            Initrd rd = req.initrd().get();
            long limit = Math.min(lowTop, k.initrdAddrMax() + 1);
            long address = alignDown(limit - rd.size(), PAGE);
            long floor = alignUp(kernelEnd, PAGE);
            if (rd.size() > limit || address < floor) {
                throw new BootImageException(String.format("%s: the initrd (%s) does not fit: it must lie between"
                        + " the kernel's end 0x%x and 0x%x (%s), which leaves %s: give the VM more memory",
                        rd.name(), mib(rd.size()), floor, limit,
                        limit == lowTop ? "the end of low RAM" : "initrd_addr_max",
                        mib(Math.max(0, limit - floor))));
            }
            initrdAddress = address;
            initrdSize = rd.size();
        }

        try {
            k.copyProtectedModeTo(mem, kernelAddress);
            if (initrdSize > 0) {
                try {
                    req.initrd().get().source().copyTo(mem, initrdAddress, initrdSize);
                } catch (IOException e) {
                    throw new BootImageException(req.initrd().get().name() + ": cannot read initrd: " + e, e);
                }
            }
            mem.fill(BootLayout.CMDLINE, cmdline.length + 1, (byte) 0);
            mem.write(BootLayout.CMDLINE, cmdline);

            writeZeroPage(mem, k, e820, req, kernelAddress, BootLayout.CMDLINE, initrdAddress, initrdSize);
            BootGdt.write(mem, req.entry());
            long cr3 = 0;
            if (req.entry() == EntryMode.LONG_64) {
                cr3 = PageTables.write(mem);
            }
            mem.fill(BootLayout.STACK_BOTTOM, BootLayout.STACK_TOP + 0x10 - BootLayout.STACK_BOTTOM, (byte) 0);

            boolean longMode = req.entry() == EntryMode.LONG_64;
            long rip = longMode ? kernelAddress + BootLayout.ENTRY64_OFFSET : kernelAddress;
            long cr0 = BootState.CR0_PE | BootState.CR0_ET | (longMode ? BootState.CR0_PG : 0);
            long cr4 = longMode ? BootState.CR4_PAE : 0;
            long efer = longMode ? BootState.EFER_LME | BootState.EFER_LMA : 0;
            return new BootState(req.entry(), rip, BootLayout.STACK_TOP, BootLayout.ZERO_PAGE,
                    BootState.RFLAGS_RESERVED, cr0, cr3, cr4, efer, BootLayout.GDT, BootLayout.GDT_SIZE - 1, 0, 0,
                    BootGdt.cs(req.entry()), BootGdt.ds(), BootGdt.tr(), kernelAddress, kernelEnd,
                    BootLayout.CMDLINE, initrdAddress, initrdSize);
        } catch (GuestMemoryException e) {
            // Every range was checked against low RAM above; getting here means the memory and layout disagree.
            throw new BootImageException(name + ": boot data does not fit in guest RAM: " + e.getMessage(), e);
        }
    }

    private static void writeZeroPage(GuestMemory mem, BzImage k, E820Map e820, Request req, long kernelAddress,
            long cmdline, long initrdAddress, long initrdSize) throws GuestMemoryException {
        long zp = BootLayout.ZERO_PAGE;
        mem.fill(zp, BootParams.SIZE, (byte) 0);
        mem.write(zp + HDR_START, k.setupHeader());

        mem.write8(zp + TYPE_OF_LOADER, (byte) LOADER_TYPE_UNDEFINED);
        int loadflags = (k.loadflags() | LOADED_HIGH | CAN_USE_HEAP) & ~KEEP_SEGMENTS;
        mem.write8(zp + LOADFLAGS, (byte) loadflags);
        mem.write16(zp + HEAP_END_PTR, (short) HEAP_END);
        mem.write32(zp + CODE32_START, (int) kernelAddress);
        mem.write32(zp + CMD_LINE_PTR, (int) cmdline);
        mem.write32(zp + EXT_CMD_LINE_PTR, (int) (cmdline >>> 32));
        mem.write32(zp + RAMDISK_IMAGE, (int) initrdAddress);
        mem.write32(zp + RAMDISK_SIZE, (int) initrdSize);
        mem.write32(zp + EXT_RAMDISK_IMAGE, (int) (initrdAddress >>> 32));
        mem.write32(zp + EXT_RAMDISK_SIZE, (int) (initrdSize >>> 32));

        if (req.acpiRsdpAddress() != 0 && k.protocolVersion() >= PROTOCOL_ACPI_RSDP) {
            mem.write64(zp + ACPI_RSDP_ADDR, req.acpiRsdpAddress());
        }
        if (req.screen().isPresent()) {
            req.screen().get().write(mem, zp);
        }

        var entries = e820.entries();
        mem.write8(zp + E820_ENTRIES, (byte) entries.size());
        for (int i = 0; i < entries.size(); i++) {
            E820Map.Entry e = entries.get(i);
            long at = zp + E820_TABLE + (long) i * E820_ENTRY_SIZE;
            mem.write64(at, e.address());
            mem.write64(at + 8, e.size());
            mem.write32(at + 16, e.type().code);
        }
    }

    static long alignUp(long v, long a) {
        return (v + a - 1) / a * a;
    }

    static long alignDown(long v, long a) {
        return Math.floorDiv(v, a) * a;
    }

    private static String mib(long bytes) {
        return bytes >= (1 << 20) ? String.format("%.1f MiB", bytes / 1048576.0) : bytes + " bytes";
    }
}
