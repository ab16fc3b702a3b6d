package dev.apiary.vmm.display;

import dev.apiary.vmm.chipset.KeyboardController;
import dev.apiary.vmm.chipset.Ps2Key;

/** Where a viewer's keyboard and pointer go. Called from viewer threads; implementations are thread-safe. */
public interface InputSink {
    /** An X11 keysym pressed or released (RFB KeyEvent). */
    void key(int keysym, boolean down);

    /** The pointer at (x, y) with buttons (bit 0 left, 1 middle, 2 right, 3/4 wheel) (RFB PointerEvent). */
    void pointer(int buttons, int x, int y);

    InputSink NONE = new InputSink() {
        @Override
        public void key(int keysym, boolean down) {}

        @Override
        public void pointer(int buttons, int x, int y) {}
    };

    /** Input into the 8042: keysyms through the US {@link Keymap}, the pointer as PS/2 mouse motion. */
    static InputSink ps2(KeyboardController kbc) {
        return new InputSink() {
            @Override
            public void key(int keysym, boolean down) {
                Ps2Key k = Keymap.key(keysym);
                if (k != null) {
                    kbc.key(k, down);
                }
            }

            @Override
            public void pointer(int buttons, int x, int y) {
                kbc.pointer(buttons, x, y);
            }
        };
    }
}
