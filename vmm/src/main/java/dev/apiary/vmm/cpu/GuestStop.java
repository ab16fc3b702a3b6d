package dev.apiary.vmm.cpu;

/** Why the guest stopped running: what the machine turns into a reset, an exit status and a message. */
public sealed interface GuestStop {
    String describe();

    /** The guest asked to power off (ACPI S5). */
    record PowerOff(String source) implements GuestStop {
        public String describe() {
            return "guest powered off (" + source + ")";
        }
    }

    /** The guest asked for a reset (0xCF9, keyboard controller, ACPI reset register). */
    record Reset(String source) implements GuestStop {
        public String describe() {
            return "guest reset (" + source + ")";
        }
    }

    /** A vCPU triple-faulted; a PC resets. */
    record TripleFault(int vcpu) implements GuestStop {
        public String describe() {
            return "triple fault on vCPU " + vcpu;
        }
    }

    /**
     * KVM's instruction emulator could not run a guest instruction. On hosts whose KVM emulates all
     * kernel-mode code (see the capability probe) this is what a full guest OS ends with.
     */
    record EmulationFailure(int vcpu, long rip, byte[] instruction, boolean hostEmulatesKernelMode) implements GuestStop {
        public String describe() {
            StringBuilder hex = new StringBuilder();
            for (byte b : instruction) {
                hex.append(String.format("%02x ", b & 0xFF));
            }
            String s = String.format("KVM emulation failure on vCPU %d at rip 0x%x (instruction bytes: %s)", vcpu, rip,
                    hex.length() == 0 ? "unreadable" : hex.toString().trim());
            if (hostEmulatesKernelMode) {
                s += "; this host's KVM emulates all kernel-mode guest code and cannot run full guests (see `vmm doctor`)";
            }
            return s;
        }
    }

    /** Another KVM failure (internal error, failed entry, unknown exit). */
    record KvmFailure(int vcpu, String what) implements GuestStop {
        public String describe() {
            return "KVM failure on vCPU " + vcpu + ": " + what;
        }
    }

    /** The VMM was asked to stop (console Ctrl-A x, a signal, the control API). */
    record Stopped(String by) implements GuestStop {
        public String describe() {
            return "stopped by " + by;
        }
    }

    /** A VMM bug or host error. */
    record HostError(String message) implements GuestStop {
        public String describe() {
            return "VMM error: " + message;
        }
    }
}
