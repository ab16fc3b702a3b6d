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

    /** Total bytes of usable RAM in the map. */
    public long ramBytes() {
        return entries.stream().filter(x -> x.type() == Type.RAM).mapToLong(Entry::size).sum();
    }
}
