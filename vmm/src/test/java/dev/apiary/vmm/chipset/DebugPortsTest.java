package dev.apiary.vmm.chipset;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.apiary.vmm.bus.Bus;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DebugPortsTest {
    @Test
    void debugconAndPostCode() {
        Bus ports = new Bus("ports");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        DebugPorts debug = new DebugPorts(log::write);
        debug.attach(ports);
        assertEquals(0xE9, ports.read(0x402, 1), "how guests detect isa-debugcon");
        for (byte b : "SeaBIOS\n".getBytes(StandardCharsets.US_ASCII)) {
            ports.write(0x402, 1, b);
        }
        assertEquals("SeaBIOS\n", log.toString(StandardCharsets.US_ASCII));
        ports.write(0x80, 1, 0x1A5);
        assertEquals(0xA5, debug.postCode());
        assertEquals(0xA5, ports.read(0x80, 1));
        debug.reset();
        assertEquals(0, debug.postCode());
        assertEquals("lpc-debug-ports", debug.name());
    }
}
