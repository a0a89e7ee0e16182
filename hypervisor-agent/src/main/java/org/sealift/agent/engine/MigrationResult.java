package org.sealift.agent.engine;

import java.util.Optional;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.model.MigrationSummary;
import org.sealift.protocol.ProtocolException;

/**
 * What one side of a migration ended with.
 *
 * @param summary      what the engine measured, with the outcome and reason
 * @param failure      the protocol reason when the run failed or was refused (empty for a commit)
 * @param decision     the hypervisor's recorded decision (secure mode; plain mode has none)
 * @param attestation  this hypervisor's signed part of the attestation record, if it could sign one
 * @param inDoubt      the run ended without knowing the final state (source released but no DONE arrived):
 *                     the VM stays paused at the source until DONE, the destination's ABORT token, or a fence
 */
public record MigrationResult(MigrationSummary summary, Optional<ProtocolException.Reason> failure,
        Optional<MigrationDecision> decision, Optional<SignedAttestation> attestation, boolean inDoubt) {

    public boolean committed() {
        return summary.outcome().movedToDestination() && !inDoubt;
    }
}
