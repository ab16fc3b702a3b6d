package dev.apiary.vmm.nvme;

import java.io.IOException;

/**
 * The admin command set (NVMe 1.4 §5) as far as this controller implements it; runs on the admin queue's
 * worker thread. Queue creation and deletion, Doorbell Buffer Config and Format NVM change controller state
 * and go through {@link NvmeController}; the rest only reads it.
 */
final class AdminCommands {
    private final NvmeController ctrl;

    AdminCommands(NvmeController ctrl) {
        this.ctrl = ctrl;
    }

    Completion execute(Command cmd) throws CommandException {
        if (cmd.fuse() != 0 || cmd.psdt() != 0) {
            throw CommandException.invalidField("fused commands and SGLs are not supported");
        }
        return switch (cmd.opcode()) {
            case Opcodes.IDENTIFY -> identify(cmd);
            case Opcodes.CREATE_IO_CQ -> ctrl.createCompletionQueue(cmd);
            case Opcodes.CREATE_IO_SQ -> ctrl.createSubmissionQueue(cmd);
            case Opcodes.DELETE_IO_SQ -> ctrl.deleteSubmissionQueue(cmd.cdw10() & 0xFFFF);
            case Opcodes.DELETE_IO_CQ -> ctrl.deleteCompletionQueue(cmd.cdw10() & 0xFFFF);
            case Opcodes.GET_FEATURES -> getFeatures(cmd);
            case Opcodes.SET_FEATURES -> setFeatures(cmd);
            case Opcodes.GET_LOG_PAGE -> getLogPage(cmd);
            case Opcodes.ABORT -> abort(cmd);
            case Opcodes.ASYNC_EVENT_REQUEST -> asyncEventRequest(cmd);
            case Opcodes.KEEP_ALIVE -> Completion.SUCCESS;
            case Opcodes.DOORBELL_BUFFER_CONFIG -> ctrl.configureShadowDoorbells(cmd.prp1(), cmd.prp2());
            case Opcodes.FORMAT_NVM -> format(cmd);
            default -> throw new CommandException(NvmeStatus.INVALID_OPCODE | NvmeStatus.DNR, "unknown admin opcode");
        };
    }

    private Completion identify(Command cmd) throws CommandException {
        int cns = cmd.cdw10() & 0xFF;
        Namespace ns = ctrl.namespace();
        int nsid = cmd.nsid();
        byte[] data = switch (cns) {
            case Opcodes.CNS_CONTROLLER -> ctrl.identifyController();
            case Opcodes.CNS_NAMESPACE -> {
                if (nsid == Namespace.NSID) {
                    yield ns.identify();
                }
                if (nsid == Namespace.BROADCAST) {
                    yield Identify.namespace(-1, ns.formatIndex(), false, null, null);
                }
                throw new CommandException(NvmeStatus.INVALID_NAMESPACE | NvmeStatus.DNR, "no such namespace");
            }
            case Opcodes.CNS_ACTIVE_NAMESPACES -> {
                if (nsid == Namespace.BROADCAST || nsid == 0xFFFF_FFFE) {
                    throw CommandException.invalidField("NSID FFFFFFFEh and above");
                }
                yield Identify.activeNamespaces(nsid);
            }
            case Opcodes.CNS_NAMESPACE_DESCRIPTORS -> {
                if (nsid != Namespace.NSID) {
                    throw new CommandException(NvmeStatus.INVALID_NAMESPACE | NvmeStatus.DNR, "no such namespace");
                }
                yield Identify.descriptors(ns.nguid, ns.eui64, ns.uuid);
            }
            default -> throw CommandException.invalidField("unsupported CNS " + cns);
        };
        ctrl.dataPointer(cmd, Identify.SIZE).copyIn(data);
        return Completion.SUCCESS;
    }

    private Completion getFeatures(Command cmd) throws CommandException {
        int fid = cmd.cdw10() & 0xFF;
        int sel = (cmd.cdw10() >>> 8) & 0x7;
        Features f = ctrl.features();
        return switch (sel) {
            case 0 -> Completion.success(f.get(fid, cmd.cdw11(), true));
            case 1, 2 -> Completion.success(f.get(fid, cmd.cdw11(), false));
            case 3 -> Completion.success(Features.capabilities(fid));
            default -> throw CommandException.invalidField("bad SEL");
        };
    }

    private Completion setFeatures(Command cmd) throws CommandException {
        int fid = cmd.cdw10() & 0xFF;
        if (cmd.cdw10() < 0) { // SV, bit 31
            if (!Features.known(fid)) {
                throw CommandException.invalidField("unknown feature");
            }
            throw new CommandException(NvmeStatus.FEATURE_NOT_SAVEABLE | NvmeStatus.DNR, "nothing is saveable");
        }
        return Completion.success(ctrl.features().set(fid, cmd.cdw11(), ctrl.ioQueuesExist()));
    }

    private Completion getLogPage(Command cmd) throws CommandException {
        int lid = cmd.cdw10() & 0xFF;
        boolean retain = (cmd.cdw10() & (1 << 15)) != 0;
        long dwords = (((cmd.cdw11() & 0xFFFFL) << 16) | (cmd.cdw10() >>> 16)) + 1;
        long offset = (cmd.cdw12() & 0xFFFF_FFFFL) | ((long) cmd.cdw13() << 32);
        long bytes = dwords * 4;
        if ((offset & 3) != 0) {
            throw CommandException.invalidField("log page offset not dword aligned");
        }
        if (bytes > ctrl.maxTransferBytes()) {
            throw CommandException.invalidField("transfer larger than MDTS");
        }
        byte[] log = switch (lid) {
            case Opcodes.LOG_ERROR_INFORMATION -> ctrl.health().errorLog();
            case Opcodes.LOG_SMART_HEALTH -> {
                int nsid = cmd.nsid();
                if (nsid != 0 && nsid != Namespace.NSID && nsid != Namespace.BROADCAST) {
                    throw new CommandException(NvmeStatus.INVALID_NAMESPACE | NvmeStatus.DNR, "no such namespace");
                }
                yield ctrl.health().smartLog();
            }
            case Opcodes.LOG_FIRMWARE_SLOT -> HealthLog.firmwareSlotLog(ctrl.config().firmware());
            default -> throw new CommandException(NvmeStatus.INVALID_LOG_PAGE | NvmeStatus.DNR, "unsupported log page");
        };
        if (offset >= log.length) {
            throw CommandException.invalidField("log page offset beyond the log");
        }
        PrpList prps = ctrl.dataPointer(cmd, bytes);
        byte[] out = new byte[(int) bytes];
        System.arraycopy(log, (int) offset, out, 0, (int) Math.min(bytes, log.length - offset));
        prps.copyIn(out);
        if (!retain) {
            ctrl.asyncEvents().logRead(lid);
        }
        return Completion.SUCCESS;
    }

    /** Commands run to completion as soon as they are fetched, so there is never one to abort (DW0 bit 0 = 1). */
    private Completion abort(Command cmd) {
        return Completion.success(1);
    }

    private Completion asyncEventRequest(Command cmd) throws CommandException {
        if (!ctrl.asyncEvents().hold(cmd.cid())) {
            throw new CommandException(NvmeStatus.AER_LIMIT_EXCEEDED, "too many Asynchronous Event Requests");
        }
        return Completion.HELD;
    }

    private Completion format(Command cmd) throws CommandException {
        int nsid = cmd.nsid();
        if (nsid != Namespace.NSID && nsid != Namespace.BROADCAST) {
            throw new CommandException(NvmeStatus.INVALID_NAMESPACE | NvmeStatus.DNR, "no such namespace");
        }
        int lbaf = cmd.cdw10() & 0xF;
        int mset = (cmd.cdw10() >>> 4) & 1;
        int pi = (cmd.cdw10() >>> 5) & 0x7;
        int ses = (cmd.cdw10() >>> 9) & 0x7;
        if (lbaf >= Identify.LBA_FORMAT_SHIFTS.length || mset != 0 || pi != 0) {
            throw new CommandException(NvmeStatus.INVALID_FORMAT | NvmeStatus.DNR, "unsupported LBA format");
        }
        if (ses > 1) {
            throw CommandException.invalidField("cryptographic erase is not supported");
        }
        Namespace ns = ctrl.namespace();
        if (ns.readOnly()) {
            throw new CommandException(NvmeStatus.NAMESPACE_WRITE_PROTECTED | NvmeStatus.DNR, "read-only image");
        }
        if (ses == 1) {
            try {
                ns.disk.discard(0, ns.disk.size());
                ns.disk.flush();
            } catch (IOException e) {
                throw new CommandException(NvmeStatus.WRITE_FAULT, e.getMessage());
            }
        }
        ns.format(lbaf);
        return Completion.SUCCESS;
    }
}
