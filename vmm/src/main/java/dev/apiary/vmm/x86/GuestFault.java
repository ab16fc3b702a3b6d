package dev.apiary.vmm.x86;

/**
 * A guest exception raised while executing an instruction (#GP, #PF, #UD ...). One preallocated instance per
 * vCPU, without a stack trace, so raising it costs no allocation: it is control flow for the guest, never an
 * error of the VMM.
 */
final class GuestFault extends RuntimeException {
    static final int DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11,
            SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19;

    int vector;
    int errorCode;
    boolean hasError;

    GuestFault() {
        super(null, null, false, false);
    }

    GuestFault set(int vector, int errorCode, boolean hasError) {
        this.vector = vector;
        this.errorCode = errorCode;
        this.hasError = hasError;
        return this;
    }

    /** Whether the exception pushes an error code (SDM Vol. 3A, 6.3, Table 6-1). */
    static boolean pushesError(int vector) {
        return vector == DF || vector == TS || vector == NP || vector == SS || vector == GP || vector == PF
                || vector == AC || vector == 21;
    }

    @Override
    public String getMessage() {
        return "guest exception " + vector + (hasError ? " error " + Integer.toHexString(errorCode) : "");
    }
}
