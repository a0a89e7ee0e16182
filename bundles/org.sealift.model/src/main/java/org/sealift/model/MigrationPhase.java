package org.sealift.model;

/**
 * Where a migration is, in the order a successful one passes through the phases. The UI shows it, the engine
 * uses it to pick the deadline that applies (PROTOCOL.md G4).
 */
public enum MigrationPhase {
    /** Opening the stream and, in secure mode, running the attested handshake (deadline: handshake). */
    HANDSHAKE,
    /** Live rounds while the VM runs (deadline: silence during pre-copy). */
    PRECOPY,
    /** VM paused at the source: last dirty pages, vCPU state, manifest (deadline: paused without RELEASE). */
    STOP_AND_COPY,
    /** Manifest sent, waiting for the destination's READY (still under the paused-without-RELEASE deadline). */
    AWAITING_READY,
    /** The source released the VM; the destination may resume it. */
    RELEASED,
    /** The run ended; see the outcome. */
    FINISHED;

    /** True while the VM is paused at the source and the downtime clock runs. */
    public boolean vmPaused() {
        return this == STOP_AND_COPY || this == AWAITING_READY || this == RELEASED;
    }
}
