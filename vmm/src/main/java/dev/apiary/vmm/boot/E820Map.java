package dev.apiary.vmm.boot;

import dev.apiary.vmm.memory.MemoryLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The BIOS e820 memory map handed to the guest: sorted, non-overlapping ranges of usable RAM and reserved
 * address space. Built from the {@link MemoryLayout}; gaps are neither (the 32-bit PCI MMIO window is a gap on
 * purpose: Linux allocates PCI resources in gaps and clips host bridge windows against reserved ranges).
 */
public record E820Map(List<Entry> entries) {
    /** e820 types (ACPI 6.x table 15.312; Linux's E820_TYPE_*). */
    public enum Type {
        RAM(1), RESERVED(2), ACPI(3), NVS(4), UNUSABLE(5);

        public final int code;

        Type(int code) {
            this.code = code;
        }
    }

    public record Entry(long address, long size, Type type) {
        public Entry {
            if (size <= 0 || address < 0 || address + size < address) {
                throw new IllegalArgumentException(String.format("bad e820 range 0x%x+0x%x", address, size));
            }
        }

        public long end() {
            return address + size;
        }

        @Override
        public String toString() {
            return String.format("[0x%016x-0x%016x] %s", address, end() - 1, type);
        }
    }

    public E820Map {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::address));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).address() < sorted.get(i - 1).end()) {
                throw new IllegalArgumentException("e820 ranges overlap: " + sorted.get(i - 1) + " and " + sorted.get(i));
            }
        }
        if (sorted.size() > BootParams.E820_MAX_ENTRIES) {
            throw new IllegalArgumentException("more than 128 e820 entries");
        }
        entries = List.copyOf(sorted);
    }

    /** The IOAPIC and local APIC register pages, reserved as PC firmware reports them. */
    public static final long IOAPIC_PAGE = MemoryLayout.IOAPIC_BASE;
    public static final long LAPIC_PAGE = MemoryLayout.LAPIC_BASE;

    /**
     * The map for a machine with this layout: RAM 0–0x9FBFF, EBDA reserved, the ACPI area 0xE0000–0xFFFFF
     * reserved, RAM from 1 MiB to the top of low RAM, the IOAPIC and local APIC pages reserved, RAM above 4 GiB.
     */
    public static E820Map of(MemoryLayout layout) {
        List<Entry> e = new ArrayList<>();
        e.add(new Entry(0, BootLayout.EBDA, Type.RAM));
        e.add(new Entry(BootLayout.EBDA, BootLayout.EBDA_END - BootLayout.EBDA, Type.RESERVED));
        e.add(new Entry(BootLayout.ACPI, BootLayout.ACPI_END - BootLayout.ACPI, Type.RESERVED));
        e.add(new Entry(BootLayout.KERNEL, layout.lowRamBytes() - BootLayout.KERNEL, Type.RAM));
        e.add(new Entry(IOAPIC_PAGE, 0x1000, Type.RESERVED));
        e.add(new Entry(LAPIC_PAGE, 0x1000, Type.RESERVED));
        if (layout.highRamBytes() > 0) {
            e.add(new Entry(MemoryLayout.HIGH_RAM_BASE, layout.highRamBytes(), Type.RAM));
        }
        return new E820Map(e);
    }

    /**
     * The map firmware reads from fw_cfg ({@code etc/e820}, as QEMU's {@code pc} fills it): only the RAM, from 0 to
     * the top of low RAM and above 4 GiB. The firmware carves out the legacy areas and reports its own map.
     */
    public static E820Map forFirmware(MemoryLayout layout) {
        List<Entry> e = new ArrayList<>();
        e.add(new Entry(0, layout.lowRamBytes(), Type.RAM));
        if (layout.highRamBytes() > 0) {
            e.add(new Entry(MemoryLayout.HIGH_RAM_BASE, layout.highRamBytes(), Type.RAM));
        }
        return new E820Map(e);
    }

    /** This map plus one more reserved range (a firmware ROM below 4 GiB, say); it must not overlap. */
    public E820Map withReserved(long address, long size) {
        List<Entry> e = new ArrayList<>(entries);
        e.add(new Entry(address, size, Type.RESERVED));
        return new E820Map(e);
    }

    /**
     * This map with the top {@code bytes} of the RAM range that starts at 1 MiB reserved instead (a framebuffer the
     * VMM scans: the guest must not use it as RAM); {@code bytes} is a multiple of 4 KiB.
     */
    public E820Map withTopOfLowRamReserved(long bytes) {
        List<Entry> e = new ArrayList<>(entries);
        for (int i = 0; i < e.size(); i++) {
            Entry r = e.get(i);
            if (r.type() == Type.RAM && r.address() == BootLayout.KERNEL) {
                if (bytes <= 0 || bytes >= r.size() || (bytes & 0xFFF) != 0) {
                    throw new IllegalArgumentException("cannot reserve 0x" + Long.toHexString(bytes) + " bytes of " + r);
                }
                e.set(i, new Entry(r.address(), r.size() - bytes, Type.RAM));
                e.add(new Entry(r.end() - bytes, bytes, Type.RESERVED));
                return new E820Map(e);
            }
        }
        throw new IllegalArgumentException("no RAM range at 1 MiB to reserve from");
    }

    /** Where the RAM range containing {@code address} ends, or -1 when {@code address} is not usable RAM. */
    public long ramEnd(long address) {
        for (Entry e : entries) {
            if (e.type() == Type.RAM && e.address() <= address && address < e.end()) {
                return e.end();
            }
        }
        return -1;
    }

    /** Total bytes of usable RAM in the map. */
    public long ramBytes() {
        return entries.stream().filter(x -> x.type() == Type.RAM).mapToLong(Entry::size).sum();
    }
}
