package dev.apiary.crds;

/** When a VM should be running; the meanings are KubeVirt's. */
public enum RunStrategy {
    /** Keep it running: start it, and start it again whenever it stops. */
    Always,
    /** Start it, and start it again only after a failure (with exponential backoff). */
    RerunOnFailure,
    /** Start and stop only when a user asks. */
    Manual,
    /** Keep it stopped. */
    Halted,
    /** Run it once; when it stops, for any reason, it stays stopped. */
    Once
}
