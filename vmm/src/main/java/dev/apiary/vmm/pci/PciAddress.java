package dev.apiary.vmm.pci;

/** Where a function sits: bus, device (slot) and function number. */
public record PciAddress(int bus, int slot, int function) {
    public PciAddress {
        if (bus < 0 || bus > 255 || slot < 0 || slot > 31 || function < 0 || function > 7) {
            throw new IllegalArgumentException("bad PCI address " + bus + "." + slot + "." + function);
        }
    }

    /** The suffix of inventory names: {@code 0.5.0}. */
    @Override
    public String toString() {
        return bus + "." + slot + "." + function;
    }

    /** A device's stable inventory name, e.g. {@code inventoryName("nvme")} = {@code pci-nvme-0.5.0}. */
    public String inventoryName(String kind) {
        return "pci-" + kind + "-" + this;
    }
}
