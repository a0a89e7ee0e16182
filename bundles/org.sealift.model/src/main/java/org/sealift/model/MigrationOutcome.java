package org.sealift.model;

/**
 * How a migration ended, as written in its attestation record (PROTOCOL.md, "Attestation records"). The names
 * are stable: they appear in signed records, logs and the management API.
 */
public enum MigrationOutcome {
    /** The destination runs the VM; the source released it and destroyed its copy. */
    COMMITTED,
    /** The source gave up before RELEASE and keeps (or resumed) the VM. */
    ABORTED_BY_SOURCE,
    /** The destination refused or timed out before resuming; the source may resume with its ABORT token. */
    ABORTED_BY_DESTINATION,
    /** The peers never agreed to migrate (handshake, attestation or policy failed). */
    REJECTED;

    /** True when the VM runs at the destination afterwards. */
    public boolean movedToDestination() {
        return this == COMMITTED;
    }
}
