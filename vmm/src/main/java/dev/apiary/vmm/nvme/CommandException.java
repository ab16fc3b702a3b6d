package dev.apiary.vmm.nvme;

/**
 * A command that ends with an error status (a guest mistake or an I/O failure): thrown inside command
 * execution, caught where the completion is posted. Never leaves the package.
 */
final class CommandException extends Exception {
    private final int status;

    CommandException(int status, String why) {
        super(why, null, false, false);
        this.status = status;
    }

    static CommandException invalidField(String why) {
        return new CommandException(NvmeStatus.INVALID_FIELD | NvmeStatus.DNR, why);
    }

    int status() {
        return status;
    }
}
