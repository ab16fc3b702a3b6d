package dev.apiary.vmm.nvme;

import static dev.apiary.vmm.nvme.NvmeRig.command;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.apiary.vmm.device.IoEventRegistrar;
import dev.apiary.vmm.pci.PciRegs;
import dev.apiary.vmm.pci.RecordingMsiSink;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The controller driven as a driver drives it: PCI, registers, admin commands, queues, interrupts, reset. */
class NvmeControllerTest {
    @TempDir
    Path dir;
    NvmeRig rig;

    @BeforeEach
    void setUp() throws Exception {
        rig = new NvmeRig(dir);
    }

    @AfterEach
    void tearDown() {
        rig.close();
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void inventoryNameCarriesThePciAddress() {
        assertEquals("pci-nvme-0.4.0", rig.ctrl.name());
    }

    @Test
    void pciIdentityIsNvmExpress() {
        assertEquals(0x02, rig.config(PciRegs.PROG_IF, 1));
        assertEquals(0x08, rig.config(PciRegs.SUBCLASS, 1));
        assertEquals(0x01, rig.config(PciRegs.CLASS_CODE, 1));
        assertEquals(1, rig.config(PciRegs.INTERRUPT_PIN, 1), "INTA for drivers without MSI-X");
        int cap = rig.ctrl.pciFunction().capabilityOffset(PciRegs.CAP_ID_MSIX);
        assertTrue(cap >= 0x40);
        long table = rig.config(cap + PciRegs.MSIX_TABLE, 4);
        long pba = rig.config(cap + PciRegs.MSIX_PBA, 4);
        assertEquals(NvmeController.MSIX_BAR, table & 7, "MSI-X table in BAR4");
        assertEquals(NvmeController.MSIX_BAR, pba & 7, "PBA in BAR4");
        assertEquals(rig.ctrl.vectors() - 1, rig.config(cap + PciRegs.MSIX_MESSAGE_CONTROL, 2) & 0x7FF);
        assertEquals(17, rig.ctrl.vectors(), "16 I/O queues (the minimum) + admin");
    }

    /** What firmware does: write all ones, read back the size mask. MLBAR bits 13:4 must read 0 (Windows). */
    @Test
    void bar0SizesAsAtLeast16KiBWithReservedBitsZero() {
        rig.config(PciRegs.COMMAND, 2, 0);
        long saved = rig.config(PciRegs.BAR0, 4);
        rig.config(PciRegs.BAR0, 4, 0xFFFF_FFFFL);
        long low = rig.config(PciRegs.BAR0, 4);
        rig.config(PciRegs.BAR0 + 4, 4, 0xFFFF_FFFFL);
        long high = rig.config(PciRegs.BAR0 + 4, 4);
        assertEquals(0x4, low & 0xF, "64-bit memory BAR, not prefetchable");
        long mask = (high << 32) | (low & ~0xFL);
        long size = -mask;
        assertTrue(size >= 16 * 1024, "BAR0 size " + size);
        assertEquals(16 * 1024, size);
        assertEquals(0, low & 0x3FF0, "bits 13:4 read 0 after writing ones");
        // An address at an odd 8 KiB boundary cannot be programmed: bit 13 does not stick.
        rig.config(PciRegs.BAR0, 4, 0xF000_2000L);
        assertEquals(0xF000_0004L, rig.config(PciRegs.BAR0, 4));
        rig.config(PciRegs.BAR0, 4, saved);
        rig.config(PciRegs.BAR0 + 4, 4, 0);
    }

    @Test
    void capabilitiesAndVersion() {
        long cap = rig.reg(NvmeRegs.CAP, 8);
        assertEquals(cap, (rig.reg(NvmeRegs.CAP, 4) & 0xFFFF_FFFFL) | (rig.reg(NvmeRegs.CAP + 4, 4) << 32),
                "64-bit and two 32-bit reads agree");
        assertEquals(1023, cap & 0xFFFF, "MQES");
        assertEquals(1, (cap >>> 16) & 1, "CQR");
        assertEquals(0, (cap >>> 17) & 3, "AMS: round robin only");
        assertEquals(15, (cap >>> 24) & 0xFF, "TO");
        assertEquals(0, (cap >>> 32) & 0xF, "DSTRD");
        assertEquals(1, (cap >>> 37) & 0xFF, "CSS: NVM");
        assertEquals(0, (cap >>> 48) & 0xF, "MPSMIN 4 KiB");
        assertEquals(4, (cap >>> 52) & 0xF, "MPSMAX 64 KiB");
        assertEquals(0x0001_0400, rig.reg32(NvmeRegs.VS));
        assertEquals(0, rig.reg32(NvmeRegs.CSTS));
    }

    @Test
    void enableAndIdentifyController() {
        rig.enable();
        byte[] id = rig.identify(Opcodes.CNS_CONTROLLER, 0);
        ByteBuffer b = le(id);
        assertEquals(NvmeConfig.DEFAULT_VENDOR_ID, b.getShort(0) & 0xFFFF);
        assertEquals("APIARY0001          ", new String(id, 4, 20, StandardCharsets.US_ASCII));
        assertEquals("Apiary NVMe Disk", new String(id, 24, 40, StandardCharsets.US_ASCII).trim());
        assertEquals("1.0     ", new String(id, 64, 8, StandardCharsets.US_ASCII));
        assertEquals(8, id[77], "MDTS: 1 MiB");
        assertEquals(0x0001_0400, b.getInt(80));
        assertEquals(Identify.OACS_DOORBELL_BUFFER_CONFIG | Identify.OACS_FORMAT_NVM, b.getShort(256) & 0xFFFF);
        assertEquals(3, id[259], "AERL");
        assertEquals(0x66, id[512] & 0xFF, "SQES");
        assertEquals(0x44, id[513] & 0xFF, "CQES");
        assertEquals(1, b.getInt(516), "NN");
        assertEquals(Identify.ONCS_DATASET_MANAGEMENT | Identify.ONCS_WRITE_ZEROES | Identify.ONCS_SAVE_SELECT,
                b.getShort(520));
        assertEquals(1, id[525] & 1, "volatile write cache present");
        assertTrue(new String(id, 768, 256, StandardCharsets.US_ASCII).startsWith("nqn.2024-01.dev.apiary:nvme:APIARY0001"));
    }

    @Test
    void identifyNamespaceUsesImageSizeIn512ByteBlocks() {
        rig.enable();
        ByteBuffer ns = le(rig.identify(Opcodes.CNS_NAMESPACE, 1));
        long blocks = (16L << 20) / 512;
        assertEquals(blocks, ns.getLong(0), "NSZE");
        assertEquals(blocks, ns.getLong(8), "NCAP");
        assertEquals(1, ns.get(25), "NLBAF: two formats");
        assertEquals(0, ns.get(26), "FLBAS: 512");
        assertEquals(9, (ns.getInt(128) >>> 16) & 0xFF);
        assertEquals(12, (ns.getInt(132) >>> 16) & 0xFF);
        assertEquals(0, ns.get(99), "not write protected");
        byte[] nguid = new byte[16];
        ns.get(104, nguid);
        assertNotEquals(0, ByteBuffer.wrap(nguid).getLong() | ByteBuffer.wrap(nguid).getLong(8));
        assertArrayEquals(new Namespace(null, "APIARY0001", 9).nguid, nguid, "NGUID stable for a serial");
    }

    @Test
    void activeNamespaceListAndDescriptors() {
        rig.enable();
        ByteBuffer list = le(rig.identify(Opcodes.CNS_ACTIVE_NAMESPACES, 0));
        assertEquals(1, list.getInt(0));
        assertEquals(0, list.getInt(4));
        assertEquals(0, le(rig.identify(Opcodes.CNS_ACTIVE_NAMESPACES, 1)).getInt(0), "none above NSID 1");
        byte[] d = rig.identify(Opcodes.CNS_NAMESPACE_DESCRIPTORS, 1);
        assertEquals(1, d[0]);
        assertEquals(8, d[1]);
        assertEquals(2, d[12]);
        assertEquals(16, d[13]);
        assertEquals(3, d[32]);
        assertEquals(16, d[33]);
        assertEquals(0, d[52], "list ends");
    }

    @Test
    void identifyRejectsUnknownCnsAndNamespaces() {
        rig.enable();
        long buf = rig.alloc(4096);
        NvmeRig.Cqe c = rig.admin(command(Opcodes.IDENTIFY).prp1(buf).cdw(10, 0x1F));
        assertEquals(NvmeStatus.INVALID_FIELD, c.code());
        assertTrue(c.dnr());
        c = rig.admin(command(Opcodes.IDENTIFY).prp1(buf).nsid(2).cdw(10, Opcodes.CNS_NAMESPACE));
        assertEquals(NvmeStatus.INVALID_NAMESPACE, c.code());
        c = rig.admin(command(Opcodes.IDENTIFY).prp1(buf).nsid(0).cdw(10, Opcodes.CNS_NAMESPACE_DESCRIPTORS));
        assertEquals(NvmeStatus.INVALID_NAMESPACE, c.code());
        c = rig.admin(command(Opcodes.IDENTIFY).prp1(buf).nsid(0xFFFF_FFFF).cdw(10, Opcodes.CNS_NAMESPACE));
        assertEquals(0, c.status(), "NSID FFFFFFFFh: common capabilities");
    }

    @Test
    void numberOfQueuesGrantsUpToTheLimitAndOnlyBeforeQueuesExist() {
        rig.enable();
        NvmeRig.Cqe c = rig.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_NUMBER_OF_QUEUES)
                .cdw(11, (63 << 16) | 63));
        assertEquals((15 << 16) | 15, c.dw0(), "64 asked, 16 granted (0's based)");
        c = rig.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_NUMBER_OF_QUEUES).cdw(11, (3 << 16) | 3));
        assertEquals((3 << 16) | 3, c.dw0());
        c = rig.adminOk(command(Opcodes.GET_FEATURES).cdw(10, Opcodes.FEAT_NUMBER_OF_QUEUES));
        assertEquals((3 << 16) | 3, c.dw0());
        assertEquals(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.createCq(5, rig.alloc(4096), 16, 0, false).code(),
                "beyond the granted 4");
        rig.createQueuePair(1, 16);
        c = rig.admin(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_NUMBER_OF_QUEUES).cdw(11, 0));
        assertEquals(NvmeStatus.COMMAND_SEQUENCE_ERROR, c.code());
        c = rig.admin(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_NUMBER_OF_QUEUES).cdw(11, 0xFFFF));
        assertEquals(NvmeStatus.INVALID_FIELD, c.code());
    }

    @Test
    void onePairPerVcpuWhenThereAreMoreThan16() throws Exception {
        try (NvmeRig big = new NvmeRig(dir, NvmeConfig.defaults("BIG", 40), 1 << 20, false, IoEventRegistrar.NONE)) {
            big.enableMsix();
            big.enable();
            NvmeRig.Cqe c = big.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_NUMBER_OF_QUEUES)
                    .cdw(11, (39 << 16) | 39));
            assertEquals((39 << 16) | 39, c.dw0());
            for (int q = 1; q <= 40; q++) {
                big.createQueuePair(q, 8);
            }
            for (int q = 1; q <= 40; q++) {
                assertEquals(0, big.run(q, command(Opcodes.READ).nsid(1).prp1(big.alloc(512)).lba(q, 1)).status());
            }
        }
    }

    @Test
    void completionPhaseTagsFlipOnEveryWrap() {
        rig.enable();
        rig.createQueuePair(1, 4);
        long buf = rig.alloc(4096);
        for (int i = 0; i < 10; i++) {
            NvmeRig.Cqe c = rig.run(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(i, 1));
            assertEquals(0, c.status());
            assertEquals(1, c.sqId());
            assertEquals((i + 1) % 4, c.sqHead(), "SQ head reported");
            assertEquals((i / 4) % 2 == 0, c.phase(), "phase of completion " + i);
        }
    }

    @Test
    void msixSignalsTheVectorOfEachCompletionQueue() {
        rig.enableMsix();
        rig.enable();
        rig.createQueuePair(1, 8);
        rig.createQueuePair(2, 8);
        rig.msi.clear();
        long buf = rig.alloc(512);
        rig.run(2, command(Opcodes.READ).nsid(1).prp1(buf).lba(0, 1));
        rig.waitFor(() -> !rig.msi.messages().isEmpty(), "MSI");
        assertEquals(new RecordingMsiSink.Message(NvmeRig.MSI_ADDRESS, 0x42), rig.msi.messages().get(0));
        rig.msi.clear();
        rig.run(1, command(Opcodes.READ).nsid(1).prp1(buf).lba(0, 1));
        rig.waitFor(() -> !rig.msi.messages().isEmpty(), "MSI");
        assertEquals(0x41, rig.msi.messages().get(0).data());
        rig.msi.clear();
        rig.adminOk(command(Opcodes.KEEP_ALIVE));
        rig.waitFor(() -> !rig.msi.messages().isEmpty(), "MSI");
        assertEquals(0x40, rig.msi.messages().get(0).data(), "admin queue on vector 0");
        assertFalse(rig.intx().level(), "no INTx while MSI-X is on");
    }

    @Test
    void intxFollowsUnconsumedCompletionsAndInterruptMask() {
        rig.enable();
        int cid = rig.submit(0, command(Opcodes.KEEP_ALIVE));
        rig.waitFor(() -> rig.intx().level(), "INTx asserted");
        NvmeRig.Cqe c = rig.complete(0); // consumes and rings the CQ head doorbell
        assertEquals(cid, c.cid());
        rig.waitFor(() -> !rig.intx().level(), "INTx deasserted once the host consumed the entry");
        rig.reg(NvmeRegs.INTMS, 4, 1);
        assertEquals(1, rig.reg32(NvmeRegs.INTMS));
        rig.submit(0, command(Opcodes.KEEP_ALIVE));
        NvmeRig.Queue admin = rig.queue(0);
        rig.waitFor(() -> ((rig.read32(admin.cq + 16L * admin.cqHead + 12) >>> 16) & 1) == 1, "posted");
        assertFalse(rig.intx().level(), "masked");
        rig.reg(NvmeRegs.INTMC, 4, 1);
        assertEquals(0, rig.reg32(NvmeRegs.INTMS));
        assertTrue(rig.intx().level(), "unmasking shows the pending entry");
        rig.complete(0);
        rig.waitFor(() -> !rig.intx().level(), "deasserted");
    }

    @Test
    void disablingResetsTheControllerAndDropsEveryQueue() {
        rig.enable();
        rig.createQueuePair(1, 8);
        rig.disable();
        assertEquals(0, rig.reg32(NvmeRegs.CSTS));
        rig.sqDoorbell(0, 1); // ignored while disabled
        rig.enable();
        // The old I/O queues are gone: deleting them fails, creating them again works.
        assertEquals(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.admin(command(Opcodes.DELETE_IO_SQ).cdw(10, 1)).code());
        rig.createQueuePair(1, 8);
        assertEquals(0, rig.run(1, command(Opcodes.FLUSH).nsid(1)).status());
    }

    @Test
    void deviceResetReturnsToPowerOnState() {
        rig.enable();
        rig.createQueuePair(1, 8);
        rig.ctrl.reset();
        assertEquals(0, rig.reg32(NvmeRegs.CSTS));
        assertEquals(0, rig.reg32(NvmeRegs.CC));
        assertEquals(0, rig.reg(NvmeRegs.ASQ, 8));
        rig.enable();
        assertEquals(NvmeStatus.INVALID_QUEUE_IDENTIFIER, rig.admin(command(Opcodes.DELETE_IO_CQ).cdw(10, 1)).code());
    }

    @Test
    void shutdownNotificationCompletes() {
        rig.enable();
        rig.reg(NvmeRegs.CC, 4, NvmeRig.CC_NVM | NvmeRegs.CC_EN | (1 << NvmeRegs.CC_SHN_SHIFT));
        rig.waitFor(() -> ((rig.reg32(NvmeRegs.CSTS) >>> 2) & 3) == NvmeRegs.SHST_COMPLETE, "SHST complete");
        rig.disable();
        rig.enable();
        assertEquals(0, (rig.reg32(NvmeRegs.CSTS) >>> 2) & 3, "a new enable starts in normal operation");
    }

    @Test
    void adminQueuesOutsideGuestRamSetControllerFatalStatus() {
        rig.reg(NvmeRegs.AQA, 4, (31 << 16) | 31);
        rig.reg(NvmeRegs.ASQ, 8, NvmeRig.RAM - 1024); // aligned down to the last page: 128 entries do not fit
        rig.reg(NvmeRegs.AQA, 4, (31 << 16) | 127);
        rig.reg(NvmeRegs.ACQ, 8, NvmeRig.ACQ);
        rig.reg(NvmeRegs.CC, 4, NvmeRig.CC_NVM | NvmeRegs.CC_EN);
        assertEquals(NvmeRegs.CSTS_CFS, rig.reg32(NvmeRegs.CSTS));
        rig.reg(NvmeRegs.CC, 4, NvmeRig.CC_NVM);
        assertEquals(0, rig.reg32(NvmeRegs.CSTS), "reset clears CFS");
        rig.enable();
    }

    @Test
    void unsupportedPageSizeOrCommandSetSetFatalStatus() {
        rig.reg(NvmeRegs.AQA, 4, (31 << 16) | 31);
        rig.reg(NvmeRegs.ASQ, 8, NvmeRig.ASQ);
        rig.reg(NvmeRegs.ACQ, 8, NvmeRig.ACQ);
        rig.reg(NvmeRegs.CC, 4, NvmeRig.CC_NVM | NvmeRegs.CC_EN | (5 << NvmeRegs.CC_MPS_SHIFT));
        assertEquals(NvmeRegs.CSTS_CFS, rig.reg32(NvmeRegs.CSTS));
        rig.reg(NvmeRegs.CC, 4, NvmeRig.CC_NVM);
        rig.reg(NvmeRegs.CC, 4, NvmeRig.CC_NVM | NvmeRegs.CC_EN | (1 << NvmeRegs.CC_CSS_SHIFT));
        assertEquals(NvmeRegs.CSTS_CFS, rig.reg32(NvmeRegs.CSTS));
    }

    @Test
    void adminQueueRegistersAreFrozenWhileEnabled() {
        rig.enable();
        rig.reg(NvmeRegs.ASQ, 8, 0x5000);
        assertEquals(NvmeRig.ASQ, rig.reg(NvmeRegs.ASQ, 8));
        assertEquals(0, rig.reg(NvmeRegs.DOORBELLS, 4), "doorbells read 0");
    }

    @Test
    void featuresAreStoredAndReported() {
        rig.enable();
        rig.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_ARBITRATION).cdw(11, 0x0302_0103));
        assertEquals(0x0302_0103, rig.adminOk(command(Opcodes.GET_FEATURES).cdw(10, Opcodes.FEAT_ARBITRATION)).dw0());
        rig.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_INTERRUPT_COALESCING).cdw(11, 0x0A04));
        assertEquals(0x0A04, rig.adminOk(command(Opcodes.GET_FEATURES).cdw(10, Opcodes.FEAT_INTERRUPT_COALESCING)).dw0());
        assertEquals(1, rig.adminOk(command(Opcodes.GET_FEATURES).cdw(10, Opcodes.FEAT_VOLATILE_WRITE_CACHE)).dw0());
        rig.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_VOLATILE_WRITE_CACHE).cdw(11, 0));
        assertEquals(0, rig.adminOk(command(Opcodes.GET_FEATURES).cdw(10, Opcodes.FEAT_VOLATILE_WRITE_CACHE)).dw0());
        assertEquals(1, rig.adminOk(command(Opcodes.GET_FEATURES).cdw(10, Opcodes.FEAT_VOLATILE_WRITE_CACHE | (1 << 8))).dw0(),
                "SEL default");
        assertEquals(4, rig.adminOk(command(Opcodes.GET_FEATURES).cdw(10, Opcodes.FEAT_ARBITRATION | (3 << 8))).dw0(),
                "SEL supported capabilities: changeable");
        rig.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_POWER_MANAGEMENT).cdw(11, 0));
        assertEquals(NvmeStatus.INVALID_FIELD,
                rig.admin(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_POWER_MANAGEMENT).cdw(11, 1)).code());
        assertEquals(NvmeStatus.FEATURE_NOT_SAVEABLE,
                rig.admin(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_ARBITRATION | (1 << 31))).code());
        assertEquals(NvmeStatus.INVALID_FIELD, rig.admin(command(Opcodes.GET_FEATURES).cdw(10, 0x7E)).code());
        assertEquals(NvmeStatus.INVALID_FIELD,
                rig.admin(command(Opcodes.GET_FEATURES).cdw(10, Opcodes.FEAT_INTERRUPT_VECTOR_CONFIG).cdw(11, 999)).code());
        rig.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_KEEP_ALIVE_TIMER).cdw(11, 5000));
        rig.adminOk(command(Opcodes.SET_FEATURES).cdw(10, Opcodes.FEAT_TEMPERATURE_THRESHOLD).cdw(11, 0x160));
        assertEquals(0x160, rig.adminOk(command(Opcodes.GET_FEATURES).cdw(10, Opcodes.FEAT_TEMPERATURE_THRESHOLD)).dw0());
    }

    @Test
    void keepAliveAndAbortComplete() {
        rig.enable();
        rig.adminOk(command(Opcodes.KEEP_ALIVE));
        NvmeRig.Cqe c = rig.adminOk(command(Opcodes.ABORT).cdw(10, (7 << 16) | 1));
        assertEquals(1, c.dw0() & 1, "nothing was outstanding to abort");
    }

    @Test
    void asyncEventRequestIsHeldUntilAnEvent() {
        rig.enable();
        int aer = rig.submit(0, command(Opcodes.ASYNC_EVENT_REQUEST));
        assertNull(rig.poll(0, 200_000_000L), "held, not completed");
        rig.sqDoorbell(9, 1); // queue 9 was never created
        NvmeRig.Cqe c = rig.complete(0);
        assertEquals(aer, c.cid());
        assertEquals(0, c.status());
        assertEquals(Opcodes.AE_TYPE_ERROR, c.dw0() & 7);
        assertEquals(Opcodes.AE_INFO_INVALID_DOORBELL_REGISTER, (c.dw0() >>> 8) & 0xFF);
        assertEquals(Opcodes.LOG_ERROR_INFORMATION, (c.dw0() >>> 16) & 0xFF);

        // A second error stays masked until the host reads the error log.
        int aer2 = rig.submit(0, command(Opcodes.ASYNC_EVENT_REQUEST));
        rig.sqDoorbell(9, 1);
        assertNull(rig.poll(0, 200_000_000L));
        long buf = rig.alloc(4096);
        rig.adminOk(command(Opcodes.GET_LOG_PAGE).prp1(buf).cdw(10, ((64 * 16 - 1) << 16) | Opcodes.LOG_ERROR_INFORMATION));
        assertEquals(9, rig.read32(buf + 8) & 0xFFFF, "newest entry: SQ ID of the bad doorbell");
        assertTrue(rig.read32(buf) > 0, "error count");
        c = rig.complete(0);
        assertEquals(aer2, c.cid());
        assertEquals(Opcodes.AE_TYPE_ERROR, c.dw0() & 7);
    }

    @Test
    void tooManyAsyncEventRequestsFailWithTheLimitStatus() {
        rig.enable();
        for (int i = 0; i < Identify.AER_LIMIT + 1; i++) {
            rig.submit(0, command(Opcodes.ASYNC_EVENT_REQUEST));
        }
        NvmeRig.Cqe c = rig.admin(command(Opcodes.ASYNC_EVENT_REQUEST));
        assertEquals(NvmeStatus.AER_LIMIT_EXCEEDED, c.code());
    }

    @Test
    void logPages() {
        rig.enable();
        rig.createQueuePair(1, 8);
        long data = rig.alloc(8192);
        rig.run(1, command(Opcodes.WRITE).nsid(1).prp1(data).prp2(data + 4096).lba(0, 16));
        rig.run(1, command(Opcodes.READ).nsid(1).prp1(data).lba(0, 1));
        rig.run(1, command(Opcodes.READ).nsid(1).prp1(data).lba(1, 1));
        long buf = rig.alloc(4096);
        rig.adminOk(command(Opcodes.GET_LOG_PAGE).nsid(0xFFFF_FFFF).prp1(buf).cdw(10, (127 << 16) | Opcodes.LOG_SMART_HEALTH));
        ByteBuffer smart = le(rig.read(buf, 512));
        assertEquals(1, smart.getLong(32), "data units read: 1 KiB, rounded up to one thousand 512-byte units");
        assertEquals(1, smart.getLong(48));
        assertEquals(2, smart.getLong(64), "host read commands");
        assertEquals(1, smart.getLong(80), "host write commands");
        assertEquals(100, smart.get(3), "available spare");
        assertTrue((smart.getShort(1) & 0xFFFF) > 273, "temperature in kelvin");

        rig.adminOk(command(Opcodes.GET_LOG_PAGE).prp1(buf).cdw(10, (127 << 16) | Opcodes.LOG_FIRMWARE_SLOT));
        byte[] fw = rig.read(buf, 512);
        assertEquals(1, fw[0]);
        assertEquals("1.0     ", new String(fw, 8, 8, StandardCharsets.US_ASCII));

        // Offset (LPOL) and a length past the end: the rest reads as zeroes.
        rig.write(buf, new byte[4096]);
        rig.adminOk(command(Opcodes.GET_LOG_PAGE).prp1(buf).cdw(10, (3 << 16) | Opcodes.LOG_SMART_HEALTH).cdw(12, 64));
        assertEquals(2, le(rig.read(buf, 16)).getLong(0), "host read commands at offset 64");

        assertEquals(NvmeStatus.INVALID_LOG_PAGE,
                rig.admin(command(Opcodes.GET_LOG_PAGE).prp1(buf).cdw(10, (127 << 16) | 0x70)).code());
        assertEquals(NvmeStatus.INVALID_FIELD,
                rig.admin(command(Opcodes.GET_LOG_PAGE).prp1(buf).cdw(10, (127 << 16) | Opcodes.LOG_SMART_HEALTH).cdw(12, 2)).code());
        assertEquals(NvmeStatus.INVALID_FIELD,
                rig.admin(command(Opcodes.GET_LOG_PAGE).prp1(buf).cdw(10, (127 << 16) | Opcodes.LOG_SMART_HEALTH).cdw(12, 4096)).code());
    }

    @Test
    void pauseStopsQueueWorkAndResumeCatchesUp() {
        rig.enable();
        rig.ctrl.pause();
        int cid = rig.submit(0, command(Opcodes.KEEP_ALIVE));
        assertNull(rig.poll(0, 200_000_000L), "nothing runs while paused");
        rig.ctrl.resume();
        assertEquals(cid, rig.complete(0).cid());
    }

    @Test
    void controllerWorksAfterStopIsNotRequiredButStopReleasesThreads() {
        rig.enable();
        rig.ctrl.stop();
        int cid = rig.submit(0, command(Opcodes.KEEP_ALIVE));
        assertNull(rig.poll(0, 100_000_000L), "stopped: no threads");
        assertTrue(cid > 0);
    }
}
