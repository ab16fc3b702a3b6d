package dev.apiary.vmm.chipset;

import dev.apiary.vmm.device.SystemControl;
import java.util.ArrayList;
import java.util.List;

/** Remembers every reset and power-off request with its source. */
final class RecordingSystemControl implements SystemControl {
    final List<String> resets = new ArrayList<>();
    final List<String> powerOffs = new ArrayList<>();

    @Override
    public void requestReset(String source) {
        resets.add(source);
    }

    @Override
    public void requestPowerOff(String source) {
        powerOffs.add(source);
    }
}
