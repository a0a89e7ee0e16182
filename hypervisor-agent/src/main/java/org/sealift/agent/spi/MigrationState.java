package org.sealift.agent.spi;

/**
 * A hypervisor's recorded decision about one migration (kept in its sealed state, so it survives agent crashes and
 * host restarts).
 */
public enum MigrationState {
    /** Plain-mode migration holding the lock (no protected processes; no sealed decisions needed). */
    PLAIN,
    /** Handshake in progress. */
    HANDSHAKE,
    /** Source: handshake done, pages being sealed. Destination: receiving sealed pages. */
    PRECOPY,
    /** Source: MANIFEST sealed, protected processes frozen; a resume now records ABORT first. */
    FROZEN,
    /** Destination: every protected page verified, READY issued; waits for RELEASE or its deadline. */
    READY,
    /** Source: RELEASE recorded, keys locked; waits for DONE (or the destination's ABORT token, or a fence). */
    RELEASED,
    /** Destination: valid RELEASE received, RESUMING recorded; the VM is being started. */
    RESUMING,
    /** Final: the VM runs at the destination (source: DONE received; destination: resumed, DONE issued). */
    COMMITTED,
    /** Final: the source aborted before RELEASE; the source copy is the only one. */
    ABORTED_BY_SOURCE,
    /** Final: the destination aborted before resuming and zeroized its copy. */
    ABORTED_BY_DESTINATION,
    /** Final: an operator's fence decided which copy runs (a trusted override outside G5). */
    FENCED;

    public boolean isFinal() {
        return this == COMMITTED || this == ABORTED_BY_SOURCE || this == ABORTED_BY_DESTINATION || this == FENCED;
    }
}
