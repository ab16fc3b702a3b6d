package dev.apiary.vmm.chipset;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.apiary.vmm.bus.Bus;
import dev.apiary.vmm.pci.PciBus;
import dev.apiary.vmm.pci.PciRegs;
import dev.apiary.vmm.pci.RecordingInterruptLine;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The chipset's PCI functions seen through configuration mechanism #1, as firmware and Linux enumerate. */
class ChipsetPciTest {
    private final Bus ports = new Bus("ports");
    private final Bus mmio = new Bus("mmio");
    private I440fxHostBridge hostBridge;
    private Piix3Lpc lpc;
    private Piix4Pm pm;

    @BeforeEach
    void setUp() {
        PciBus pci = new PciBus(ports, mmio, gsi -> new RecordingInterruptLine(), (a, d) -> {});
        pci.mapConfigPorts();
        hostBridge = new I440fxHostBridge();
        lpc = new Piix3Lpc();
        pm = new Piix4Pm(new RecordingInterruptLine(), new RecordingSystemControl(), () -> 0L);
        hostBridge.attach(pci);
        lpc.attach(pci);
        pm.attach(pci, ports);
    }

    private long cfg(int slot, int fn, int reg, int size) {
        ports.write(0xCF8, 4, 0x8000_0000L | (slot << 11) | (fn << 8) | (reg & 0xFC));
        return ports.read(0xCFC + (reg & 3), size);
    }

    private void setCfg(int slot, int fn, int reg, int size, long value) {
        ports.write(0xCF8, 4, 0x8000_0000L | (slot << 11) | (fn << 8) | (reg & 0xFC));
        ports.write(0xCFC + (reg & 3), size, value);
    }

    @Test
    void identities() {
        assertEquals(0x1237_8086L, cfg(0, 0, 0, 4));
        assertEquals(0x0600_0002L, cfg(0, 0, PciRegs.REVISION_ID, 4));
        assertEquals(0x7000_8086L, cfg(1, 0, 0, 4));
        assertEquals(0x0601_0000L, cfg(1, 0, PciRegs.REVISION_ID, 4));
        assertEquals(0x7113_8086L, cfg(1, 3, 0, 4));
        assertEquals(0x0680_0003L, cfg(1, 3, PciRegs.REVISION_ID, 4));
        assertEquals(0xFFFF_FFFFL, cfg(1, 1, 0, 4), "no IDE function");
        assertEquals("pci-i440fx-0.0.0", hostBridge.name());
        assertEquals("pci-piix3-0.1.0", lpc.name());
        assertEquals("pci-piix4-pm-0.1.3", pm.name());
    }

    @Test
    void multiFunctionBitOnlyOnPiix3() {
        assertEquals(0x00, cfg(0, 0, PciRegs.HEADER_TYPE, 1));
        assertEquals(0x80, cfg(1, 0, PciRegs.HEADER_TYPE, 1));
        assertEquals(0x00, cfg(1, 3, PciRegs.HEADER_TYPE, 1));
    }

    @Test
    void pirqRouteRegisters() {
        for (int i = 0; i < 4; i++) {
            assertEquals(0x80, cfg(1, 0, 0x60 + i, 1));
        }
        assertEquals(0x8080_8080L, cfg(1, 0, 0x60, 4));
        setCfg(1, 0, 0x61, 1, 0x0B);
        assertEquals(0x0B, cfg(1, 0, 0x61, 1));
        assertEquals(0x0B, lpc.pirqRoute(1));
        setCfg(1, 0, 0x60, 4, 0xFFFF_FFFFL);
        assertEquals(0x8F8F_8F8FL, cfg(1, 0, 0x60, 4), "bits 6:4 are reserved");
        lpc.reset();
        assertEquals(0x80, cfg(1, 0, 0x61, 1));
    }

    @Test
    void pmBaseIsFixedAndEnabled() {
        assertEquals(0xB001, cfg(1, 3, Piix4PmRegs.PMBA, 4));
        setCfg(1, 3, Piix4PmRegs.PMBA, 4, 0x0601);
        assertEquals(0xB001, cfg(1, 3, Piix4PmRegs.PMBA, 4));
        assertEquals(1, cfg(1, 3, Piix4PmRegs.PMREGMISC, 1) & 1);
        assertEquals(Piix4PmRegs.PM_BLOCK_LENGTH, ports.find(0xB000).orElseThrow().length());
    }

    @Test
    void hostBridgePamRegistersStore() {
        setCfg(0, 0, 0x59, 1, 0x30);
        assertEquals(0x30, cfg(0, 0, 0x59, 1));
        assertEquals(0x02, cfg(0, 0, 0x72, 1));
    }
}
