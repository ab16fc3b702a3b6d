package dev.apiary.vmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class EscapeDecoderTest {
    private static EscapeDecoder.Decoded d(EscapeDecoder dec, int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return dec.decode(b, 0, b.length);
    }

    @Test
    void ctrlCReachesTheGuest() {
        var r = d(new EscapeDecoder(), 'a', 0x03, 'b');
        assertArrayEquals(new byte[] {'a', 0x03, 'b'}, r.toGuest());
        assertEquals(EscapeDecoder.Command.NONE, r.command());
    }

    @Test
    void ctrlAxQuitsAndKeepsWhatCameBefore() {
        var r = d(new EscapeDecoder(), 'l', 's', 0x01, 'x', 'z');
        assertArrayEquals(new byte[] {'l', 's'}, r.toGuest());
        assertEquals(EscapeDecoder.Command.QUIT, r.command());
    }

    @Test
    void doubleCtrlASendsOne() {
        var r = d(new EscapeDecoder(), 0x01, 0x01, 'q');
        assertArrayEquals(new byte[] {0x01, 'q'}, r.toGuest());
    }

    @Test
    void escapeSplitAcrossReads() {
        EscapeDecoder dec = new EscapeDecoder();
        assertEquals(0, d(dec, 0x01).toGuest().length);
        assertEquals(EscapeDecoder.Command.QUIT, d(dec, 'x').command());
    }

    @Test
    void unknownEscapeIsDroppedAndHelpIsReported() {
        EscapeDecoder dec = new EscapeDecoder();
        assertArrayEquals(new byte[] {'k'}, d(dec, 0x01, 'w', 'k').toGuest());
        var h = d(dec, 0x01, 'h', 'y');
        assertEquals(EscapeDecoder.Command.HELP, h.command());
        assertArrayEquals(new byte[] {'y'}, h.toGuest());
    }
}
