package dev.apiary.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** MSI-X driven the way Linux's pci_msix_* code drives it: program entries, enable, unmask. */
class MsixTest {
    private static final int SLOT = 4;
    private static final long BAR = 0xC000_0000L;
    private static final long TABLE = BAR + 0x2000;
    private static final long PBA = BAR + 0x3000;

    private PciTestRig rig;
    private PciFunction f;
    private PciTestRig.Registers regs;
    private int cap;

    @BeforeEach
    void setUp() {
        rig = new PciTestRig();
        regs = new PciTestRig.Registers();
        f = PciFunction.builder(0x1b36, 0x0010)
                .interruptPin(1)
                .memoryBar64(0, 0x4000, false, regs)
                .msix(70, 0, 0x2000, 0, 0x3000)
                .build();
        rig.pci.attach(SLOT, 0, f);
        rig.write(SLOT, 0, PciRegs.BAR0, 4, BAR);
        rig.write(SLOT, 0, PciRegs.BAR0 + 4, 4, 0);
        rig.write(SLOT, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY_SPACE | PciRegs.COMMAND_BUS_MASTER);
        cap = f.capabilityOffset(PciRegs.CAP_ID_MSIX);
    }

    private void program(int vector, long address, int data) {
        long entry = TABLE + 16L * vector;
        rig.mmio.write(entry, 4, address);
        rig.mmio.write(entry + 4, 4, address >>> 32);
        rig.mmio.write(entry + 8, 4, data);
    }

    private void setMask(int vector, boolean masked) {
        rig.mmio.write(TABLE + 16L * vector + 12, 4, masked ? 1 : 0);
    }

    private void control(int bits) {
        rig.write(SLOT, 0, cap + 2, 2, bits);
    }

    @Test
    void entriesResetMaskedAndReadBack() {
        assertEquals(69, rig.read(SLOT, 0, cap + 2, 2) & PciRegs.MSIX_CONTROL_TABLE_SIZE_MASK);
        assertEquals(1, rig.mmio.read(TABLE + 12, 4));
        program(3, 0xFEE0_1003L, 0x4041);
        assertEquals(0xFEE0_1000L, rig.mmio.read(TABLE + 48, 4), "low address bits are reserved");
        assertEquals(0x4041, rig.mmio.read(TABLE + 56, 4));
        assertEquals(0x0000_4041_0000_0000L, rig.mmio.read(TABLE + 52, 8));
        assertEquals(0x41, rig.mmio.read(TABLE + 56, 1));
        assertEquals(0x40, rig.mmio.read(TABLE + 57, 1));
    }

    @Test
    void qwordWritesAndIgnoredOddWrites() {
        rig.mmio.write(TABLE + 16, 8, 0x0000_0001_FEE0_0000L);
        assertEquals(0x0000_0001_FEE0_0000L, rig.mmio.read(TABLE + 16, 8));
        rig.mmio.write(TABLE + 24, 8, 0x0000_0000_0000_0033L); // data 0x33, unmasks
        assertEquals(0x33, rig.mmio.read(TABLE + 24, 4));
        assertEquals(0, rig.mmio.read(TABLE + 28, 4));
        rig.mmio.write(TABLE + 40, 1, 0x77); // byte write: undefined by the spec, ignored
        rig.mmio.write(TABLE + 41, 4, 0x77); // misaligned DWORD: ignored
        rig.mmio.write(TABLE + 36, 8, -1L); // misaligned QWORD: ignored
        assertEquals(0, rig.mmio.read(TABLE + 40, 4));
        assertEquals(0, rig.mmio.read(TABLE + 36, 4));
        rig.mmio.write(PBA, 8, -1L); // PBA is read-only
        assertEquals(0, rig.mmio.read(PBA, 8));
        assertEquals(-1, regs.lastOffset, "table and PBA accesses never reach the device");
    }

    @Test
    void notifyWhileDisabledReportsFalse() {
        program(0, 0xFEE0_0000L, 0x30);
        setMask(0, false);
        assertFalse(f.notifyMsix(0));
        assertEquals(0, rig.mmio.read(PBA, 8));
        assertTrue(rig.msi.messages().isEmpty());
    }

    @Test
    void deliversWhenEnabledAndUnmasked() {
        program(1, 0xFEE0_0000L, 0x31);
        setMask(1, false);
        control(PciRegs.MSIX_CONTROL_ENABLE);
        assertTrue(f.notifyMsix(1));
        assertEquals(List.of(new RecordingMsiSink.Message(0xFEE0_0000L, 0x31)), rig.msi.messages());
        assertFalse(f.notifyMsix(70), "no such vector");
    }

    @Test
    void maskedVectorPendsAndDeliversOnUnmask() {
        program(65, 0xFEE0_2000L, 0x41);
        control(PciRegs.MSIX_CONTROL_ENABLE);
        assertTrue(f.notifyMsix(65));
        assertTrue(rig.msi.messages().isEmpty());
        assertEquals(0x2, rig.mmio.read(PBA + 8, 8), "vector 65 is bit 1 of the second QWORD");
        assertEquals(0x2, rig.mmio.read(PBA + 8, 4));
        setMask(65, false);
        assertEquals(List.of(new RecordingMsiSink.Message(0xFEE0_2000L, 0x41)), rig.msi.messages());
        assertEquals(0, rig.mmio.read(PBA + 8, 8));
    }

    @Test
    void functionMaskPendsAndDeliversWhenCleared() {
        program(2, 0xFEE0_0000L, 0x32);
        setMask(2, false);
        control(PciRegs.MSIX_CONTROL_ENABLE | PciRegs.MSIX_CONTROL_FUNCTION_MASK);
        f.notifyMsix(2);
        f.notifyMsix(2);
        assertTrue(rig.msi.messages().isEmpty());
        assertTrue(f.msix().pending(2));
        control(PciRegs.MSIX_CONTROL_ENABLE);
        assertEquals(1, rig.msi.messages().size(), "one pending bit, one message");
        assertFalse(f.msix().pending(2));
    }

    @Test
    void enablingMsixSilencesIntx() {
        RecordingInterruptLine line = rig.gsi(PciInterruptRouting.gsi(SLOT, 1));
        f.setIntx(true);
        assertTrue(line.level());
        control(PciRegs.MSIX_CONTROL_ENABLE);
        assertFalse(line.level());
        control(0);
        assertTrue(line.level());
    }

    @Test
    void restOfBarReachesDevice() {
        rig.mmio.write(BAR + 0x14, 4, 0x46_0001);
        assertEquals(0x14, regs.lastOffset);
        assertEquals(0x5A, rig.mmio.read(BAR + 0x1000, 4));
    }

    @Test
    void resetMasksEverythingAgain() {
        program(0, 0xFEE0_0000L, 0x30);
        setMask(0, false);
        control(PciRegs.MSIX_CONTROL_ENABLE);
        f.reset();
        assertFalse(f.msix().enabled());
        assertTrue(f.msix().masked(0));
        assertEquals(0, rig.read(SLOT, 0, cap + 2, 2) & PciRegs.MSIX_CONTROL_ENABLE);
    }
}
