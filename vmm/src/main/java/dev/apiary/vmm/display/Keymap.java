package dev.apiary.vmm.display;

import dev.apiary.vmm.chipset.Ps2Key;
import java.util.HashMap;
import java.util.Map;

/**
 * X11 keysyms (what RFB KeyEvents carry, RFC 6143 §7.5.4) to the keys of a US PC keyboard. A viewer sends the
 * keysym of the character typed, with the Shift press it took as a separate event, so shifted symbols map
 * to the key they are on ('!' → the 1 key). Keysyms with no US key are ignored.
 */
public final class Keymap {
    private static final Map<Integer, Ps2Key> KEYS = new HashMap<>();

    private static void key(int keysym, int set1, int set2) {
        KEYS.put(keysym, new Ps2Key(set1, set2, false));
    }

    private static void ext(int keysym, int set1, int set2) {
        KEYS.put(keysym, new Ps2Key(set1, set2, true));
    }

    /** A printable key: its unshifted and shifted characters. */
    private static void chars(String plainAndShifted, int set1, int set2) {
        for (char c : plainAndShifted.toCharArray()) {
            key(c, set1, set2);
        }
    }

    static {
        // Printable keys, row by row (set 1 and set 2 make codes).
        chars("`~", 0x29, 0x0E);
        chars("1!", 0x02, 0x16);
        chars("2@", 0x03, 0x1E);
        chars("3#", 0x04, 0x26);
        chars("4$", 0x05, 0x25);
        chars("5%", 0x06, 0x2E);
        chars("6^", 0x07, 0x36);
        chars("7&", 0x08, 0x3D);
        chars("8*", 0x09, 0x3E);
        chars("9(", 0x0A, 0x46);
        chars("0)", 0x0B, 0x45);
        chars("-_", 0x0C, 0x4E);
        chars("=+", 0x0D, 0x55);
        chars("qQ", 0x10, 0x15);
        chars("wW", 0x11, 0x1D);
        chars("eE", 0x12, 0x24);
        chars("rR", 0x13, 0x2D);
        chars("tT", 0x14, 0x2C);
        chars("yY", 0x15, 0x35);
        chars("uU", 0x16, 0x3C);
        chars("iI", 0x17, 0x43);
        chars("oO", 0x18, 0x44);
        chars("pP", 0x19, 0x4D);
        chars("[{", 0x1A, 0x54);
        chars("]}", 0x1B, 0x5B);
        chars("\\|", 0x2B, 0x5D);
        chars("aA", 0x1E, 0x1C);
        chars("sS", 0x1F, 0x1B);
        chars("dD", 0x20, 0x23);
        chars("fF", 0x21, 0x2B);
        chars("gG", 0x22, 0x34);
        chars("hH", 0x23, 0x33);
        chars("jJ", 0x24, 0x3B);
        chars("kK", 0x25, 0x42);
        chars("lL", 0x26, 0x4B);
        chars(";:", 0x27, 0x4C);
        chars("'\"", 0x28, 0x52);
        chars("zZ", 0x2C, 0x1A);
        chars("xX", 0x2D, 0x22);
        chars("cC", 0x2E, 0x21);
        chars("vV", 0x2F, 0x2A);
        chars("bB", 0x30, 0x32);
        chars("nN", 0x31, 0x31);
        chars("mM", 0x32, 0x3A);
        chars(",<", 0x33, 0x41);
        chars(".>", 0x34, 0x49);
        chars("/?", 0x35, 0x4A);
        chars(" ", 0x39, 0x29);
        // Function and control keys (keysyms from X11 keysymdef.h).
        key(0xFF1B, 0x01, 0x76); // Escape
        key(0xFF08, 0x0E, 0x66); // BackSpace
        key(0xFF09, 0x0F, 0x0D); // Tab
        key(0xFE20, 0x0F, 0x0D); // ISO_Left_Tab (Shift+Tab)
        key(0xFF0D, 0x1C, 0x5A); // Return
        key(0xFFE3, 0x1D, 0x14); // Control_L
        key(0xFFE1, 0x2A, 0x12); // Shift_L
        key(0xFFE2, 0x36, 0x59); // Shift_R
        key(0xFFE9, 0x38, 0x11); // Alt_L
        key(0xFFE7, 0x38, 0x11); // Meta_L (sent by some viewers for Alt)
        key(0xFFE5, 0x3A, 0x58); // Caps_Lock
        int[] f1to10 = {0x05, 0x06, 0x04, 0x0C, 0x03, 0x0B, 0x83, 0x0A, 0x01, 0x09};
        for (int i = 0; i < 10; i++) {
            key(0xFFBE + i, 0x3B + i, f1to10[i]); // F1–F10
        }
        key(0xFFC8, 0x57, 0x78); // F11
        key(0xFFC9, 0x58, 0x07); // F12
        key(0xFF7F, 0x45, 0x77); // Num_Lock
        key(0xFF14, 0x46, 0x7E); // Scroll_Lock
        // Keypad: digits and their navigation keysyms are the same keys.
        int[][] pad = {{0xFFB7, 0xFF95, 0x47, 0x6C}, {0xFFB8, 0xFF97, 0x48, 0x75}, {0xFFB9, 0xFF9A, 0x49, 0x7D},
                {0xFFB4, 0xFF96, 0x4B, 0x6B}, {0xFFB5, 0xFF9D, 0x4C, 0x73}, {0xFFB6, 0xFF98, 0x4D, 0x74},
                {0xFFB1, 0xFF9C, 0x4F, 0x69}, {0xFFB2, 0xFF99, 0x50, 0x72}, {0xFFB3, 0xFF9B, 0x51, 0x7A},
                {0xFFB0, 0xFF9E, 0x52, 0x70}, {0xFFAE, 0xFF9F, 0x53, 0x71}};
        for (int[] p : pad) {
            key(p[0], p[2], p[3]);
            key(p[1], p[2], p[3]);
        }
        key(0xFFAA, 0x37, 0x7C); // KP_Multiply
        key(0xFFAD, 0x4A, 0x7B); // KP_Subtract
        key(0xFFAB, 0x4E, 0x79); // KP_Add
        // Extended (0xE0) keys.
        ext(0xFF8D, 0x1C, 0x5A); // KP_Enter
        ext(0xFFAF, 0x35, 0x4A); // KP_Divide
        ext(0xFFE4, 0x1D, 0x14); // Control_R
        ext(0xFFEA, 0x38, 0x11); // Alt_R
        ext(0xFE03, 0x38, 0x11); // ISO_Level3_Shift (AltGr)
        ext(0xFF50, 0x47, 0x6C); // Home
        ext(0xFF52, 0x48, 0x75); // Up
        ext(0xFF55, 0x49, 0x7D); // Page_Up
        ext(0xFF51, 0x4B, 0x6B); // Left
        ext(0xFF53, 0x4D, 0x74); // Right
        ext(0xFF57, 0x4F, 0x69); // End
        ext(0xFF54, 0x50, 0x72); // Down
        ext(0xFF56, 0x51, 0x7A); // Page_Down
        ext(0xFF63, 0x52, 0x70); // Insert
        ext(0xFFFF, 0x53, 0x71); // Delete
        ext(0xFFEB, 0x5B, 0x1F); // Super_L
        ext(0xFFEC, 0x5C, 0x27); // Super_R
        ext(0xFF67, 0x5D, 0x2F); // Menu
    }

    private Keymap() {}

    /** The key for a keysym, or null when a US keyboard has none. */
    public static Ps2Key key(int keysym) {
        return KEYS.get(keysym);
    }
}
