package org.sealift.console.core.migration;

/** A migration the source agent has accepted and runs. */
public interface MigrationHandle {

    /** The migration id the agents use (hex), which also names its attestation record. */
    String migrationId();

    /**
     * Asks the source agent to abort. Before RELEASE it sends ABORT (a real one: the destination discards its copy,
     * the source resumes the VM); after RELEASE the destination owns the VM and the answer is a refusal saying so.
     * Never blocks for long: the outcome arrives as the run's {@code Finished} event.
     */
    CancelResult cancel();
}
