package dev.apiary.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PciBusTest {
    private PciTestRig rig;

    @BeforeEach
    void setUp() {
        rig = new PciTestRig();
        rig.pci.attach(0, 0, PciFunction.builder(0x8086, 0x1237).classCode(0x06, 0x00, 0x00).revision(0x02).build());
        rig.pci.attach(1, 0, PciFunction.builder(0x8086, 0x7000).classCode(0x06, 0x01, 0x00).multiFunction().build());
    }

    @Test
    void configAddressReadsBackLikeLinuxType1Probe() {
        // arch/x86/pci/direct.c pci_check_type1(): write 0x80000000, expect it back.
        rig.ports.write(0xCF8, 4, 0x8000_0000L);
        assertEquals(0x8000_0000L, rig.ports.read(0xCF8, 4));
        rig.ports.write(0xCF8, 4, 0x8000_0803L);
        assertEquals(0x8000_0800L, rig.ports.read(0xCF8, 4), "bits 1:0 are reserved and read 0");
    }

    @Test
    void byteAndWordAccessesToConfigAddressAreNotConfigAddress() {
        rig.ports.write(0xCF8, 4, 0x8000_0000L);
        rig.ports.write(0xCF8, 1, 0);
        rig.ports.write(0xCF8, 2, 0);
        assertEquals(0x8000_0000L, rig.ports.read(0xCF8, 4));
        assertEquals(0xFF, rig.ports.read(0xCF8, 1));
    }

    @Test
    void enableBitGatesConfigData() {
        rig.ports.write(0xCF8, 4, 0x0000_0000L); // 0:0.0 register 0, enable clear
        assertEquals(0xFFFF_FFFFL, rig.ports.read(0xCFC, 4));
        rig.ports.write(0xCF8, 4, 0x8000_0000L);
        assertEquals(0x1237_8086L, rig.ports.read(0xCFC, 4));
    }

    @Test
    void absentFunctionsAndOtherBusesReadAllOnes() {
        assertEquals(0xFFFF_FFFFL, rig.read(2, 0, 0, 4));
        assertEquals(0xFFFF, rig.read(0, 1, 0, 2));
        assertEquals(0xFF, rig.read(31, 7, 0x0B, 1));
        rig.ports.write(0xCF8, 4, 0x8001_0000L); // bus 1
        assertEquals(0xFFFF_FFFFL, rig.ports.read(0xCFC, 4));
        rig.ports.write(0xCFC, 4, 0); // dropped, no exception
    }

    @Test
    void byteAndWordAccessesAtDataPortOffsets() {
        assertEquals(0x8086, rig.read(0, 0, 0x00, 2));
        assertEquals(0x1237, rig.read(0, 0, 0x02, 2)); // port 0xCFE
        assertEquals(0x86, rig.read(0, 0, 0x00, 1));
        assertEquals(0x12, rig.read(0, 0, 0x03, 1)); // port 0xCFF
        assertEquals(0x06, rig.read(0, 0, 0x0B, 1));
        assertEquals(0x02, rig.read(0, 0, 0x08, 1));
        assertEquals(0x0600_0002L, rig.read(0, 0, 0x08, 4));
        // A word access at 0xCFF would cross the DWORD: all ones, like an unclaimed access.
        rig.ports.write(0xCF8, 4, PciTestRig.address(0, 0, 0));
        assertEquals(0xFFFF, rig.ports.read(0xCFF, 2));
    }

    @Test
    void multiFunctionBitInHeaderType() {
        assertEquals(0x00, rig.read(0, 0, PciRegs.HEADER_TYPE, 1));
        assertEquals(0x80, rig.read(1, 0, PciRegs.HEADER_TYPE, 1));
    }

    @Test
    void readOnlyIdentityAndWritableInterruptLine() {
        rig.write(0, 0, 0x00, 4, 0);
        assertEquals(0x1237_8086L, rig.read(0, 0, 0, 4));
        rig.write(0, 0, PciRegs.INTERRUPT_LINE, 1, 11);
        assertEquals(11, rig.read(0, 0, PciRegs.INTERRUPT_LINE, 1));
        rig.write(0, 0, PciRegs.COMMAND, 2, 0xFFFF);
        assertEquals(PciRegs.COMMAND_WRITABLE, rig.read(0, 0, PciRegs.COMMAND, 2));
    }

    @Test
    void resetClearsConfigAddressAndCommand() {
        rig.write(0, 0, PciRegs.COMMAND, 2, 0x7);
        rig.pci.reset();
        assertEquals(0, rig.ports.read(0xCF8, 4));
        assertEquals(0, rig.read(0, 0, PciRegs.COMMAND, 2));
    }
}
