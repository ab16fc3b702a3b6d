package dev.apiary.vmm.chipset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.bus.Bus;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ResetControlTest {
    private final Bus ports = new Bus("ports");
    private final RecordingSystemControl system = new RecordingSystemControl();
    private ResetControl reset;
    private KeyboardController kbc;

    @BeforeEach
    void setUp() {
        reset = new ResetControl(system);
        kbc = new KeyboardController(system);
        reset.attach(ports);
        kbc.attach(ports);
    }

    @Test
    void cf9LinuxRebootPci() {
        // arch/x86/kernel/reboot.c, BOOT_CF9_FORCE: outb(0x02, 0xcf9); udelay(50); outb(0x06, 0xcf9)
        ports.write(0xCF9, 1, 0x02);
        assertTrue(system.resets.isEmpty());
        assertEquals(0x02, ports.read(0xCF9, 1));
        ports.write(0xCF9, 1, 0x06);
        assertEquals(List.of("0xCF9"), system.resets);
    }

    @Test
    void cf9FullReset() {
        ports.write(0xCF9, 1, 0x0E);
        assertEquals(1, system.resets.size());
        assertEquals(0x0A, ports.read(0xCF9, 1), "RST_CPU reads 0");
    }

    @Test
    void port92FastReset() {
        assertTrue(reset.a20Enabled());
        ports.write(0x92, 1, 0x02);
        assertTrue(system.resets.isEmpty());
        ports.write(0x92, 1, 0x03);
        assertEquals(List.of("port 0x92"), system.resets);
        ports.write(0x92, 1, 0x03);
        assertEquals(1, system.resets.size(), "only a 0→1 edge resets");
        ports.write(0x92, 1, 0x00);
        assertFalse(reset.a20Enabled());
    }

    @Test
    void keyboardControllerReset() {
        // Linux kb_wait(): spin while the input buffer is full, then outb(0xfe, 0x64).
        assertEquals(0, ports.read(0x64, 1) & ResetRegs.KBC_STATUS_IBF);
        ports.write(0x64, 1, 0xFE);
        assertEquals(List.of("keyboard controller"), system.resets);
    }

    @Test
    void keyboardControllerCommands() {
        ports.write(0x64, 1, ResetRegs.KBC_SELF_TEST);
        assertEquals(ResetRegs.KBC_STATUS_OBF, ports.read(0x64, 1) & ResetRegs.KBC_STATUS_OBF);
        assertEquals(0x55, ports.read(0x60, 1));
        assertEquals(0, ports.read(0x64, 1) & ResetRegs.KBC_STATUS_OBF);

        ports.write(0x64, 1, ResetRegs.KBC_WRITE_COMMAND_BYTE);
        ports.write(0x60, 1, 0x61);
        ports.write(0x64, 1, ResetRegs.KBC_READ_COMMAND_BYTE);
        assertEquals(0x61, ports.read(0x60, 1));

        ports.write(0x64, 1, ResetRegs.KBC_DISABLE_A20);
        assertFalse(kbc.a20Enabled());
        ports.write(0x64, 1, ResetRegs.KBC_ENABLE_A20);
        assertTrue(kbc.a20Enabled());
        ports.write(0x64, 1, ResetRegs.KBC_WRITE_OUTPUT_PORT);
        ports.write(0x60, 1, 0x01); // A20 off, reset line high
        assertFalse(kbc.a20Enabled());
        ports.write(0x64, 1, ResetRegs.KBC_READ_OUTPUT_PORT);
        assertEquals(0x01, ports.read(0x60, 1));

        ports.write(0x64, 1, 0xAD); // disable keyboard: accepted, ignored
        ports.write(0x64, 1, 0xFF); // pulse nothing
        ports.write(0x60, 1, 0xF4); // a byte for the (absent) keyboard
        assertTrue(system.resets.isEmpty());

        ports.write(0x64, 1, ResetRegs.KBC_WRITE_OUTPUT_PORT);
        ports.write(0x60, 1, 0x02); // reset line low
        assertEquals(List.of("keyboard controller"), system.resets);
    }

    @Test
    void names() {
        assertEquals("lpc-kbc", kbc.name());
        assertEquals("lpc-reset", reset.name());
    }
}
