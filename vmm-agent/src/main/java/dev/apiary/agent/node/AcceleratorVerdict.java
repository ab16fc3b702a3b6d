package dev.apiary.agent.node;

/**
 * One accelerator's verdict on this host, as {@code vmm doctor --json} gives it in {@code accelerators[]}.
 *
 * @param fullGuests whether kernel-mode guest code runs with it; null when the VMM did not say
 */
public record AcceleratorVerdict(String name, boolean available, Boolean fullGuests, String reason) {
    public static final String KVM = "KVM";
    public static final String EMULATED = "Emulated";
}
