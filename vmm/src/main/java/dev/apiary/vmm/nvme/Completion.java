package dev.apiary.vmm.nvme;

/** What a command ends with: completion dword 0 and the status field. */
record Completion(int result, int status) {
    static final Completion SUCCESS = new Completion(0, NvmeStatus.SUCCESS);
    /** Not completed now (an Asynchronous Event Request waiting for an event). */
    static final Completion HELD = new Completion(0, -1);

    static Completion success(int result) {
        return new Completion(result, NvmeStatus.SUCCESS);
    }

    static Completion error(int status) {
        return new Completion(0, status);
    }
}
