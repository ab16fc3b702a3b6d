package dev.apiary.vmm.machine;

import dev.apiary.vmm.boot.AcpiTables;
import dev.apiary.vmm.boot.SmbiosTables;
import dev.apiary.vmm.chipset.DebugPorts;
import dev.apiary.vmm.chipset.I440fxHostBridge;
import dev.apiary.vmm.chipset.KeyboardController;
import dev.apiary.vmm.chipset.Piix3Lpc;
import dev.apiary.vmm.chipset.Piix4Pm;
import dev.apiary.vmm.chipset.ResetControl;
import dev.apiary.vmm.chipset.Rtc;
import dev.apiary.vmm.block.BlockBackend;
import dev.apiary.vmm.block.FileBlockBackend;
import dev.apiary.vmm.device.Device;
import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.vmm.boot.E820Map;
import dev.apiary.vmm.fwcfg.FwCfg;
import dev.apiary.vmm.fwcfg.TableLoader;
import dev.apiary.vmm.display.Framebuffer;
import dev.apiary.vmm.display.Ramfb;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import dev.apiary.vmm.nvme.NvmeConfig;
import dev.apiary.vmm.nvme.NvmeController;
import dev.apiary.vmm.memory.GuestMemoryException;
import java.util.Set;
import dev.apiary.vmm.memory.GuestMemory;
import dev.apiary.vmm.net.VirtioNet;
import dev.apiary.vmm.pci.PciBus;
import dev.apiary.vmm.uart.ComPort;
import dev.apiary.vmm.uart.Uart16550;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The PC platform, attached the way a board is built: PCI host bridge and configuration ports, LPC bridge,
 * power management, RTC, the four COM ports, reset and debug ports. Reads like propolis' standalone runner.
 */
public final class Chipset {
    private final List<Device> devices = new ArrayList<>();
    private final Machine machine;
    private final PciBus pci;
    private final Uart16550[] uarts = new Uart16550[4];
    private final Piix4Pm pm;
    private final Rtc rtc;
    private final DebugPorts debugPorts;
    private final FwCfg fwCfg;
    private final KeyboardController kbc;
    private final Framebuffer framebuffer;

    private Chipset(Machine m) {
        this.machine = m;
        pci = new PciBus(m.ports(), m.mmio(), m::irqLine, m.vm().msi());
        pci.mapConfigPorts();
        devices.add(pci);

        I440fxHostBridge hostBridge = new I440fxHostBridge();
        hostBridge.attach(pci);
        devices.add(hostBridge);
        Piix3Lpc lpc = new Piix3Lpc();
        lpc.attach(pci);
        devices.add(lpc);
        pm = new Piix4Pm(m.irqLine(AcpiTables.SCI_IRQ), m);
        pm.attach(pci, m.ports());
        devices.add(pm);

        rtc = new Rtc(m.layout(), m.config().cpus(), m.irqLine(8));
        rtc.attach(m.ports());
        devices.add(rtc);
        ResetControl reset = new ResetControl(m);
        reset.attach(m.ports());
        devices.add(reset);
        kbc = new KeyboardController(m, m.irqLine(1), m.irqLine(12));
        kbc.attach(m.ports());
        devices.add(kbc);
        debugPorts = new DebugPorts(b -> { });
        debugPorts.attach(m.ports());
        devices.add(debugPorts);
        fwCfg = new FwCfg(m.memory());
        fwCfg.attach(m.ports());
        addFirmwareItems(m);
        devices.add(fwCfg);
        MachineConfig.Display display = m.config().display();
        if (display != null) {
            framebuffer = new Framebuffer(m.memory(), display.width(), display.height());
            Ramfb ramfb = new Ramfb(m.memory(), framebuffer);
            ramfb.attach(fwCfg);
            devices.add(ramfb);
        } else {
            framebuffer = null;
        }

        ComPort[] coms = ComPort.values();
        for (int i = 0; i < 4; i++) {
            ComPort port = coms[i];
            SerialConsole console = i == 0 ? m.serialConsole() : null;
            Uart16550 u = new Uart16550(port, m.irqLine(port.irq()), console == null ? b -> { } : console::transmit);
            u.attach(m.ports());
            if (console != null) {
                console.connect(u::receive);
                u.setReceiveSpaceListener(console::drained);
            }
            uarts[i] = u;
            devices.add(u);
        }
    }

    /**
     * What every machine's fw_cfg carries (QEMU's items of the same names): the CPU count, RAM size, the e820
     * map and the boot order. The boot order lists the NVMe disks in manifest order as Open Firmware paths
     * (QEMU's form for PCI functions without a firmware name: {@code pci<vendor>,<device>@<slot>}); it is
     * written before the disks are attached, from the configuration, so it is there for every boot.
     * For firmware boot also the ACPI tables through {@code etc/table-loader} (a direct boot gets them written
     * into RAM by the VMM instead), SMBIOS (the system UUID derived from the VM's name) and the e820 map as
     * firmware expects it (RAM only).
     */
    private void addFirmwareItems(Machine m) {
        fwCfg.addItem(FwCfg.NB_CPUS, FwCfg.le16(m.config().cpus()));
        fwCfg.addItem(FwCfg.MAX_CPUS, FwCfg.le16(m.config().cpus()));
        fwCfg.addItem(FwCfg.RAM_SIZE, FwCfg.le64(m.config().memoryBytes()));
        fwCfg.addItem(FwCfg.NOGRAPHIC, FwCfg.le16(m.config().display() == null ? 1 : 0));
        boolean firmware = m.config().firmware() != null;
        fwCfg.addFile("etc/e820", e820File(firmware ? E820Map.forFirmware(m.layout()) : m.e820()));
        if (firmware) {
            addAcpiForFirmware(acpiConfig().forFirmware());
            SmbiosTables.Tables smbios = SmbiosTables.build(m.config().cpus(), m.layout(),
                    UUID.nameUUIDFromBytes(("apiary-vm:" + m.config().name()).getBytes(StandardCharsets.UTF_8)));
            fwCfg.addFile("etc/smbios/smbios-tables", smbios.structures());
            fwCfg.addFile("etc/smbios/smbios-anchor", smbios.anchor());
        }
        List<String> order = new ArrayList<>();
        for (int i = 0; i < m.config().disks().size(); i++) {
            order.add(String.format("/pci@i0cf8/pci%x,%x@%x/namespace@1,0", NvmeConfig.DEFAULT_VENDOR_ID,
                    NvmeConfig.DEFAULT_DEVICE_ID, FIRST_DISK_SLOT + i));
        }
        // Paths separated by newlines, NUL-terminated, as QEMU writes the file.
        fwCfg.addFile("bootorder", (String.join("\n", order) + "\0").getBytes(StandardCharsets.US_ASCII));
    }

    static final String ACPI_TABLES = "etc/acpi/tables";
    static final String ACPI_RSDP = "etc/acpi/rsdp";
    static final String TABLE_LOADER = "etc/table-loader";

    /**
     * The machine's ACPI tables as QEMU offers them to firmware: {@code etc/acpi/tables}, {@code etc/acpi/rsdp}
     * (in the F-segment, where a legacy scan finds it) and the loader script that places and links them.
     */
    private void addAcpiForFirmware(AcpiTables.Config c) {
        acpiFiles(AcpiTables.relocatable(c)).forEach(fwCfg::addFile);
    }

    /** The three fw_cfg files for these tables: the tables, the RSDP and the loader script, by file name. */
    static Map<String, byte[]> acpiFiles(AcpiTables.Relocatable r) {
        TableLoader loader = new TableLoader()
                .allocate(ACPI_RSDP, 16, TableLoader.ZONE_FSEG)
                .allocate(ACPI_TABLES, 64, TableLoader.ZONE_HIGH);
        for (AcpiTables.Pointer p : r.pointers()) {
            loader.addPointer(blobFile(p.in()), blobFile(p.to()), p.offset(), p.size());
        }
        for (AcpiTables.Checksum k : r.checksums()) {
            loader.addChecksum(blobFile(k.in()), k.resultOffset(), k.start(), k.length());
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(ACPI_TABLES, r.tables());
        files.put(ACPI_RSDP, r.rsdp());
        files.put(TABLE_LOADER, loader.bytes());
        return files;
    }

    private static String blobFile(AcpiTables.Blob b) {
        return b == AcpiTables.Blob.RSDP ? ACPI_RSDP : ACPI_TABLES;
    }

    private AcpiTables.Config acpiConfig() {
        return new AcpiTables.Config(machine.config().cpus(), machine.layout(), Set.of(1, 2, 3, 4), true);
    }

    /** QEMU's {@code etc/e820}: packed little-endian {u64 address, u64 length, u32 type} entries. */
    static byte[] e820File(E820Map map) {
        ByteBuffer b = ByteBuffer.allocate(map.entries().size() * 20).order(ByteOrder.LITTLE_ENDIAN);
        for (E820Map.Entry e : map.entries()) {
            b.putLong(e.address()).putLong(e.size()).putInt(e.type().code);
        }
        return b.array();
    }

    /** The screen, when the machine has a display. */
    public java.util.Optional<Framebuffer> framebuffer() {
        return java.util.Optional.ofNullable(framebuffer);
    }

    /** The 8042, where keyboard and mouse input enter the guest. */
    public KeyboardController keyboardController() {
        return kbc;
    }

    public FwCfg fwCfg() {
        return fwCfg;
    }

    static Chipset assemble(Machine m) {
        return new Chipset(m);
    }

    /** The first PCI slot for disks; slot 2 is kept for a display. */
    static final int FIRST_DISK_SLOT = 3;

    /** Attaches one NVMe controller per disk, in manifest order, at slots 3, 4, … */
    void attachDisks(Machine m, IoEventRegistrar ioEvents) throws java.io.IOException {
        int slot = FIRST_DISK_SLOT;
        for (MachineConfig.Disk d : m.config().disks()) {
            BlockBackend backend = FileBlockBackend.open(d.image(), d.readOnly());
            NvmeController nvme = new NvmeController(NvmeConfig.defaults(d.serial(), m.config().cpus())
                    .withLbaSize(d.blockSize()), m.memory(), backend, ioEvents);
            pci.attach(slot++, 0, nvme.pciFunction());
            devices.add(nvme);
        }
    }

    /** The first PCI slot for network interfaces (after up to 13 disks at 3…15). */
    static final int FIRST_NIC_SLOT = 16;

    /** Attaches one virtio-net function per network, in manifest order, at slots 16, 17, … */
    void attachNetworks(Machine m) throws java.io.IOException {
        int slot = FIRST_NIC_SLOT;
        for (MachineConfig.Network n : m.config().networks()) {
            VirtioNet nic = Networks.open(n, m.memory());
            pci.attach(slot++, 0, nic.pciFunction());
            devices.add(nic);
        }
    }

    public List<Device> devices() {
        return List.copyOf(devices);
    }

    public PciBus pci() {
        return pci;
    }

    /** The ACPI power button: a guest with ACPI support shuts down cleanly. */
    public void pressPowerButton() {
        pm.pressPowerButton();
    }

    public Rtc rtc() {
        return rtc;
    }

    /** The last value the guest wrote to the POST code port 0x80. */
    public int postCode() {
        return debugPorts.postCode();
    }

    /** Writes the ACPI tables into guest RAM and returns the RSDP's address. */
    long writeAcpiTables(GuestMemory memory) {
        AcpiTables t = AcpiTables.build(acpiConfig());
        try {
            t.writeTo(memory);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("ACPI tables do not fit in guest RAM", e);
        }
        return t.rsdpAddress();
    }
}
