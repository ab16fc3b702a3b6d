package dev.apiary.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.bus.Bus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PciFunctionTest {
    private static final int SLOT = 3;

    private PciTestRig rig;
    private PciTestRig.Registers io;
    private PciTestRig.Registers mem32;
    private PciTestRig.Registers mem64;
    private PciTestRig.Registers big64;

    @BeforeEach
    void setUp() {
        rig = new PciTestRig();
        io = new PciTestRig.Registers();
        mem32 = new PciTestRig.Registers();
        mem64 = new PciTestRig.Registers();
        big64 = new PciTestRig.Registers();
        PciFunction f = PciFunction.builder(0x1af4, 0x1041)
                .classCode(0x02, 0x00, 0x00)
                .interruptPin(1)
                .ioBar(0, 0x20, io)
                .memoryBar32(1, 0x1000, mem32)
                .memoryBar64(2, 0x4000, true, mem64)
                .memoryBar64(4, 8L << 30, false, big64)
                .build();
        rig.pci.attach(SLOT, 0, f);
    }

    private long bar(int i) {
        return rig.read(SLOT, 0, PciRegs.BAR0 + 4 * i, 4);
    }

    private void setBar(int i, long v) {
        rig.write(SLOT, 0, PciRegs.BAR0 + 4 * i, 4, v);
    }

    /** What SeaBIOS and Linux do: save, write all ones, read the mask, restore. */
    private long size(int i) {
        long saved = bar(i);
        setBar(i, 0xFFFF_FFFFL);
        long mask = bar(i);
        setBar(i, saved);
        assertEquals(saved, bar(i));
        return mask;
    }

    @Test
    void ioBarSizing() {
        assertEquals(0x1, bar(0), "type bit reads 1 with the address 0");
        assertEquals(0xFFFF_FFE1L, size(0));
    }

    @Test
    void memory32BarSizing() {
        assertEquals(0x0, bar(1));
        assertEquals(0xFFFF_F000L, size(1));
    }

    @Test
    void memory64BarSizingBothHalves() {
        assertEquals(0xC, bar(2), "64-bit, prefetchable");
        assertEquals(0xFFFF_C00CL, size(2));
        assertEquals(0xFFFF_FFFFL, size(3), "upper half of a BAR below 4 GiB is all address bits");
        // 8 GiB: the low half has no address bits, the upper half loses bit 0.
        assertEquals(0x4, size(4));
        assertEquals(0xFFFF_FFFEL, size(5));
    }

    @Test
    void undeclaredBarsAndRomReadZeroAfterSizing() {
        PciTestRig r = new PciTestRig();
        r.pci.attach(0, 0, PciFunction.builder(0x8086, 0x1237).build());
        for (int reg = PciRegs.BAR0; reg < PciRegs.BAR0 + 24; reg += 4) {
            r.write(0, 0, reg, 4, 0xFFFF_FFFFL);
            assertEquals(0, r.read(0, 0, reg, 4));
        }
        r.write(0, 0, PciRegs.EXPANSION_ROM, 4, 0xFFFF_FFFFL);
        assertEquals(0, r.read(0, 0, PciRegs.EXPANSION_ROM, 4));
    }

    @Test
    void ioBarMapsWhenIoDecodeEnabledAndMovesAndUnmaps() {
        setBar(0, 0xC000);
        assertTrue(rig.ports.find(0xC000).isEmpty(), "not mapped while I/O decode is off");
        rig.write(SLOT, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_IO_SPACE);
        assertEquals(0x5A, rig.ports.read(0xC004, 1));
        rig.ports.write(0xC010, 2, 0x1234);
        assertEquals(0x10, io.lastOffset);
        assertEquals(0x1234, io.lastValue);

        setBar(0, 0xC100);
        assertTrue(rig.ports.find(0xC000).isEmpty(), "old window unmapped");
        assertEquals(0xC100, rig.ports.find(0xC100).orElseThrow().base());

        rig.write(SLOT, 0, PciRegs.COMMAND, 2, 0);
        assertTrue(rig.ports.find(0xC100).isEmpty());
        assertTrue(rig.mmio.mappings().isEmpty(), "memory BARs never mapped");
    }

    @Test
    void memoryBarsMapOnlyWithMemoryDecode() {
        setBar(1, 0xC000_0000L);
        setBar(2, 0xC000_4000L);
        setBar(3, 0);
        rig.write(SLOT, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_IO_SPACE);
        assertTrue(rig.mmio.mappings().isEmpty());
        rig.write(SLOT, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY_SPACE);
        assertEquals(0x1000, rig.mmio.find(0xC000_0000L).orElseThrow().length());
        assertEquals(0x4000, rig.mmio.find(0xC000_4000L).orElseThrow().length());
        rig.mmio.write(0xC000_4008L, 4, 7);
        assertEquals(8, mem64.lastOffset);
        assertTrue(rig.ports.mappings().stream().noneMatch(m -> m.name().contains("BAR")));
    }

    @Test
    void sixtyFourBitBarAboveFourGiB() {
        rig.write(SLOT, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY_SPACE);
        setBar(4, 0);
        setBar(5, 0x8); // 0x8_0000_0000 = 32 GiB
        assertEquals(0x8_0000_0000L, rig.mmio.find(0x8_0000_0000L).orElseThrow().base());
        assertEquals(8L << 30, rig.mmio.find(0x8_0000_0000L).orElseThrow().length());
        assertEquals(0x8_0000_0000L, rig.pci.function(SLOT, 0).orElseThrow().mappedAddress(4));
    }

    @Test
    void sizingPatternIsNotMappedEvenWithDecodeOn() {
        rig.write(SLOT, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY_SPACE | PciRegs.COMMAND_IO_SPACE);
        setBar(1, 0xFFFF_FFFFL);
        setBar(0, 0xFFFF_FFFFL);
        setBar(2, 0xFFFF_FFFFL);
        assertTrue(rig.mmio.mappings().isEmpty());
        assertTrue(rig.ports.mappings().stream().noneMatch(m -> m.name().contains("BAR")));
    }

    @Test
    void barOverAnotherWindowIsNotMappedUntilMoved() {
        rig.mmio.register(0xFEC0_0000L, 0x1000, "ioapic", new PciTestRig.Registers());
        rig.write(SLOT, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY_SPACE);
        setBar(1, 0xFEC0_0000L);
        PciFunction f = rig.pci.function(SLOT, 0).orElseThrow();
        assertEquals(-1, f.mappedAddress(1));
        assertEquals("ioapic", rig.mmio.find(0xFEC0_0000L).orElseThrow().name());
        setBar(1, 0xC000_0000L);
        assertEquals(0xC000_0000L, f.mappedAddress(1));
    }

    @Test
    void resetUnmapsEverything() {
        setBar(1, 0xC000_0000L);
        rig.write(SLOT, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY_SPACE);
        assertFalse(rig.mmio.mappings().isEmpty());
        rig.pci.reset();
        assertTrue(rig.mmio.mappings().isEmpty());
        assertEquals(0, bar(1));
    }

    @Test
    void intxFollowsPinAndInterruptDisable() {
        PciFunction f = rig.pci.function(SLOT, 0).orElseThrow();
        int gsi = PciInterruptRouting.gsi(SLOT, 1);
        RecordingInterruptLine line = rig.gsi(gsi);
        f.setIntx(true);
        assertTrue(line.level());
        assertEquals(PciRegs.STATUS_INTERRUPT, rig.read(SLOT, 0, PciRegs.STATUS, 2) & PciRegs.STATUS_INTERRUPT);

        rig.write(SLOT, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_INTX_DISABLE);
        assertFalse(line.level(), "INTx disable masks the pin");
        assertEquals(PciRegs.STATUS_INTERRUPT, rig.read(SLOT, 0, PciRegs.STATUS, 2) & PciRegs.STATUS_INTERRUPT,
                "but Interrupt Status still reflects the device");

        rig.write(SLOT, 0, PciRegs.COMMAND, 2, 0);
        assertTrue(line.level());
        f.setIntx(false);
        assertFalse(line.level());
        assertEquals(0, rig.read(SLOT, 0, PciRegs.STATUS, 2) & PciRegs.STATUS_INTERRUPT);
        assertEquals(1, rig.read(SLOT, 0, PciRegs.INTERRUPT_PIN, 1));
    }

    @Test
    void functionsSharingAGsiAreWiredOr() {
        // Slot 3 INTA and slot 2 INTB both swizzle to the same GSI.
        PciFunction other = PciFunction.builder(0x1af4, 0x1042).interruptPin(2).build();
        rig.pci.attach(2, 0, other);
        assertEquals(PciInterruptRouting.gsi(SLOT, 1), PciInterruptRouting.gsi(2, 2));
        PciFunction f = rig.pci.function(SLOT, 0).orElseThrow();
        RecordingInterruptLine line = rig.gsi(PciInterruptRouting.gsi(SLOT, 1));
        f.setIntx(true);
        other.setIntx(true);
        f.setIntx(false);
        assertTrue(line.level(), "the other function still asserts");
        other.setIntx(false);
        assertFalse(line.level());
    }

    @Test
    void capabilityListWalk() {
        PciFunction f = PciFunction.builder(0x1af4, 0x1041)
                .memoryBar64(0, 0x4000, false, null)
                .capability(PciCapability.readOnly(PciRegs.CAP_ID_VENDOR, new byte[] {14, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
                .msix(4, 0, 0x2000, 0, 0x3000)
                .capability(new PciCapability(PciRegs.CAP_ID_VENDOR, new byte[] {6, 2, 0, 0}, new byte[] {0, 0, -1, 0}))
                .build();
        rig.pci.attach(5, 0, f);
        assertEquals(PciRegs.STATUS_CAPABILITIES_LIST, rig.read(5, 0, PciRegs.STATUS, 2) & PciRegs.STATUS_CAPABILITIES_LIST);

        int[] expectedIds = {PciRegs.CAP_ID_VENDOR, PciRegs.CAP_ID_MSIX, PciRegs.CAP_ID_VENDOR};
        int ptr = (int) rig.read(5, 0, PciRegs.CAPABILITIES_POINTER, 1);
        int count = 0;
        int[] offsets = new int[3];
        while (ptr != 0) {
            assertTrue(ptr >= 0x40 && (ptr & 3) == 0, "capability at 0x" + Integer.toHexString(ptr));
            assertEquals(expectedIds[count], rig.read(5, 0, ptr, 1));
            offsets[count++] = ptr;
            ptr = (int) rig.read(5, 0, ptr + 1, 1);
        }
        assertEquals(3, count);
        assertEquals(offsets[1], f.capabilityOffset(PciRegs.CAP_ID_MSIX));
        // MSI-X: table size N-1, BIR/offset.
        assertEquals(3, rig.read(5, 0, offsets[1] + 2, 2));
        assertEquals(0x2000, rig.read(5, 0, offsets[1] + 4, 4));
        assertEquals(0x3000, rig.read(5, 0, offsets[1] + 8, 4));
        // Capability bits follow their mask.
        rig.write(5, 0, offsets[2] + 4, 2, 0xFFFF);
        rig.write(5, 0, offsets[2] + 2, 2, 0xFFFF);
        assertEquals(0x00FF_0206L, rig.read(5, 0, offsets[2] + 2, 2) | rig.read(5, 0, offsets[2] + 4, 2) << 16);
        rig.write(5, 0, offsets[0], 4, 0);
        assertEquals(PciRegs.CAP_ID_VENDOR, rig.read(5, 0, offsets[0], 1), "headers are read-only");
    }

    @Test
    void deviceSpecificRegistersAndListener() {
        int[] seen = new int[1];
        PciFunction f = PciFunction.builder(0x8086, 0x7000)
                .register(0x60, 1, 0x80, 0x8F)
                .onConfigWrite((offset, size, value) -> seen[0] = offset)
                .build();
        rig.pci.attach(1, 0, f);
        assertEquals(0x80, rig.read(1, 0, 0x60, 1));
        rig.write(1, 0, 0x60, 1, 0xFB);
        assertEquals(0x8B, rig.read(1, 0, 0x60, 1));
        assertEquals(0x60, seen[0]);
    }

    @Test
    void builderRefusesBadLayouts() {
        assertThrows(IllegalArgumentException.class,
                () -> PciFunction.builder(1, 2).memoryBar64(0, 0x1000, false, null).memoryBar32(1, 0x1000, null));
        assertThrows(IllegalArgumentException.class, () -> PciFunction.builder(1, 2).ioBar(0, 0x1000, null));
        assertThrows(IllegalArgumentException.class, () -> PciFunction.builder(1, 2).memoryBar32(0, 0x1800, null));
        assertThrows(IllegalArgumentException.class,
                () -> PciFunction.builder(1, 2).memoryBar32(0, 0x1000, null).msix(8, 0, 0xF88, 0, 0).build());
        assertThrows(IllegalArgumentException.class,
                () -> PciFunction.builder(1, 2).register(0x40, 4, 0, 0).register(0x42, 2, 0, 0).build());
    }

    @Test
    void hostileConfigAccessesNeverThrow() {
        PciFunction f = rig.pci.function(SLOT, 0).orElseThrow();
        for (int off = -4; off < 260; off++) {
            for (int size : new int[] {0, 1, 2, 3, 4, 8}) {
                f.writeConfig(off, size, -1L);
                f.readConfig(off, size);
            }
        }
        Bus ports = rig.ports;
        for (int size : new int[] {1, 2, 4, 8}) {
            for (int port = 0xCF8; port < 0xD00; port++) {
                ports.write(port, size, -1L);
                ports.read(port, size);
            }
        }
    }
}
