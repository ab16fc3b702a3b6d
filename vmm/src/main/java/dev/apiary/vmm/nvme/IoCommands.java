package dev.apiary.vmm.nvme;

import dev.apiary.vmm.memory.GuestMemory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The NVM command set (NVMe 1.4 §6): Read, Write, Flush, Write Zeroes and Dataset Management on namespace 1.
 * Runs on the worker thread of the submission queue the command came from. Every field the guest controls is
 * checked before data moves: namespace ID, LBA range, transfer size against MDTS, the data pointer (see
 * {@link PrpList}); writes to a read-only image end with Namespace Is Write Protected.
 */
final class IoCommands {
    private static final System.Logger LOG = System.getLogger(IoCommands.class.getName());
    private static final int DSM_RANGE_SIZE = 16;
    private static final int DSM_ATTR_DEALLOCATE = 1 << 2;
    private static final int RW_FUA = 1 << 30;
    private static final int WRITE_ZEROES_DEAC = 1 << 25;

    interface Context {
        GuestMemory memory();

        int pageSize();

        long maxTransferBytes();

        boolean writeCacheEnabled();

        HealthLog health();

        Namespace namespace();
    }

    private final Context ctx;

    IoCommands(Context ctx) {
        this.ctx = ctx;
    }

    Completion execute(Command cmd) throws CommandException {
        if (cmd.fuse() != 0 || cmd.psdt() != 0) {
            throw CommandException.invalidField("fused commands and SGLs are not supported");
        }
        return switch (cmd.opcode()) {
            case Opcodes.READ -> readWrite(cmd, false);
            case Opcodes.WRITE -> readWrite(cmd, true);
            case Opcodes.FLUSH -> flush(cmd);
            case Opcodes.WRITE_ZEROES -> writeZeroes(cmd);
            case Opcodes.DATASET_MANAGEMENT -> datasetManagement(cmd);
            default -> throw new CommandException(NvmeStatus.INVALID_OPCODE | NvmeStatus.DNR, "unknown I/O opcode");
        };
    }

    private Namespace namespace(Command cmd) throws CommandException {
        if (cmd.nsid() != Namespace.NSID) {
            throw new CommandException(NvmeStatus.INVALID_NAMESPACE | NvmeStatus.DNR, "no such namespace");
        }
        return ctx.namespace();
    }

    private static long slba(Command cmd) {
        return (cmd.cdw10() & 0xFFFF_FFFFL) | ((long) cmd.cdw11() << 32);
    }

    private static void checkRange(Namespace ns, long slba, long nlb) throws CommandException {
        long blocks = ns.blocks();
        if (slba < 0 || nlb > blocks || slba > blocks - nlb) {
            throw new CommandException(NvmeStatus.LBA_OUT_OF_RANGE | NvmeStatus.DNR, "LBA out of range");
        }
    }

    private Completion readWrite(Command cmd, boolean write) throws CommandException {
        Namespace ns = namespace(cmd);
        long slba = slba(cmd);
        int nlb = (cmd.cdw12() & 0xFFFF) + 1;
        checkRange(ns, slba, nlb);
        int shift = ns.lbaShift();
        long bytes = (long) nlb << shift;
        if (bytes > ctx.maxTransferBytes()) {
            throw CommandException.invalidField("transfer larger than MDTS");
        }
        if (write && ns.readOnly()) {
            throw new CommandException(NvmeStatus.NAMESPACE_WRITE_PROTECTED | NvmeStatus.DNR, "read-only image");
        }
        PrpList prps = PrpList.resolve(ctx.memory(), cmd.prp1(), cmd.prp2(), bytes, ctx.pageSize());
        long offset = slba << shift;
        try {
            for (int i = 0; i < prps.ranges(); i++) {
                ByteBuffer b = prps.buffer(i);
                if (write) {
                    ns.disk.write(offset, b);
                } else {
                    ns.disk.read(offset, b);
                }
                offset += prps.rangeLength(i);
            }
            if (write && ((cmd.cdw12() & RW_FUA) != 0 || !ctx.writeCacheEnabled())) {
                ns.disk.flush();
            }
        } catch (IOException e) {
            ctx.health().mediaErrors.incrementAndGet();
            LOG.log(Level.WARNING, () -> ns.disk.describe() + ": " + (write ? "write" : "read") + " at LBA " + slba
                    + " failed: " + e.getMessage());
            throw new CommandException(write ? NvmeStatus.WRITE_FAULT : NvmeStatus.UNRECOVERED_READ_ERROR, e.getMessage());
        }
        HealthLog h = ctx.health();
        if (write) {
            h.bytesWritten.addAndGet(bytes);
            h.writeCommands.incrementAndGet();
        } else {
            h.bytesRead.addAndGet(bytes);
            h.readCommands.incrementAndGet();
        }
        return Completion.SUCCESS;
    }

    private Completion flush(Command cmd) throws CommandException {
        if (cmd.nsid() != Namespace.NSID && cmd.nsid() != Namespace.BROADCAST) {
            throw new CommandException(NvmeStatus.INVALID_NAMESPACE | NvmeStatus.DNR, "no such namespace");
        }
        Namespace ns = ctx.namespace();
        try {
            // The completion is posted only after this returns: the data is on stable storage by then.
            ns.disk.flush();
        } catch (IOException e) {
            LOG.log(Level.WARNING, () -> ns.disk.describe() + ": flush failed: " + e.getMessage());
            throw new CommandException(NvmeStatus.WRITE_FAULT, e.getMessage());
        }
        return Completion.SUCCESS;
    }

    private Completion writeZeroes(Command cmd) throws CommandException {
        Namespace ns = namespace(cmd);
        long slba = slba(cmd);
        int nlb = (cmd.cdw12() & 0xFFFF) + 1;
        checkRange(ns, slba, nlb);
        if (ns.readOnly()) {
            throw new CommandException(NvmeStatus.NAMESPACE_WRITE_PROTECTED | NvmeStatus.DNR, "read-only image");
        }
        int shift = ns.lbaShift();
        try {
            if ((cmd.cdw12() & WRITE_ZEROES_DEAC) != 0) {
                ns.disk.discard(slba << shift, (long) nlb << shift);
            } else {
                ns.disk.writeZeroes(slba << shift, (long) nlb << shift);
            }
            if ((cmd.cdw12() & RW_FUA) != 0 || !ctx.writeCacheEnabled()) {
                ns.disk.flush();
            }
        } catch (IOException e) {
            throw new CommandException(NvmeStatus.WRITE_FAULT, e.getMessage());
        }
        return Completion.SUCCESS;
    }

    private Completion datasetManagement(Command cmd) throws CommandException {
        Namespace ns = namespace(cmd);
        int ranges = (cmd.cdw10() & 0xFF) + 1;
        if ((cmd.cdw11() & DSM_ATTR_DEALLOCATE) == 0) {
            return Completion.SUCCESS; // integral read/write hints only: nothing to do
        }
        if (ns.readOnly()) {
            throw new CommandException(NvmeStatus.NAMESPACE_WRITE_PROTECTED | NvmeStatus.DNR, "read-only image");
        }
        PrpList prps = PrpList.resolve(ctx.memory(), cmd.prp1(), cmd.prp2(), (long) ranges * DSM_RANGE_SIZE, ctx.pageSize());
        ByteBuffer list = ByteBuffer.wrap(prps.copyOut()).order(ByteOrder.LITTLE_ENDIAN);
        long[] starts = new long[ranges];
        long[] lengths = new long[ranges];
        for (int i = 0; i < ranges; i++) {
            lengths[i] = list.getInt(i * DSM_RANGE_SIZE + 4) & 0xFFFF_FFFFL;
            starts[i] = list.getLong(i * DSM_RANGE_SIZE + 8);
            checkRange(ns, starts[i], lengths[i]);
        }
        int shift = ns.lbaShift();
        try {
            for (int i = 0; i < ranges; i++) {
                if (lengths[i] > 0) {
                    ns.disk.discard(starts[i] << shift, lengths[i] << shift);
                }
            }
        } catch (IOException e) {
            throw new CommandException(NvmeStatus.WRITE_FAULT, e.getMessage());
        }
        return Completion.SUCCESS;
    }
}
