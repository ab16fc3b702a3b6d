package dev.apiary.vmm.machine;

import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.net.NetBackend;
import dev.apiary.vmm.net.Passt;
import dev.apiary.vmm.net.Tap;
import dev.apiary.vmm.net.VirtioNet;
import java.io.IOException;

/** Turns a manifest's network into a virtio-net device on its host backend. */
final class Networks {
    private Networks() {}

    static VirtioNet open(MachineConfig.Network n, GuestMemory memory) throws IOException {
        NetBackend[] backends;
        try {
            backends = switch (n.backend()) {
                case PASST -> new NetBackend[] {Passt.start(n.name(), n.ports())};
                case TAP -> n.tapFd() >= 0 ? new NetBackend[] {Tap.adopt(n.tapFd())} : Tap.open(n.tapName(), n.queues());
            };
        } catch (IOException e) {
            throw new IOException(n.name() + ": " + e.getMessage(), e);
        }
        return new VirtioNet(memory, n.mac(), VirtioNet.DEFAULT_MTU, backends);
    }
}
