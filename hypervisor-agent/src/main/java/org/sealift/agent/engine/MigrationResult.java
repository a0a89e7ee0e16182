package org.sealift.agent.engine;

import java.util.Map;
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
 * @param downtimeSteps where the downtime went, step by step in order (source side, once the VM resumed at the
 *                     destination; empty otherwise): consecutive intervals from the pause to the resume, in
 *                     nanoseconds, that add up to the summary's downtime. Names: {@link #STEP_LAST_ROUND} and so on
 */
public record MigrationResult(MigrationSummary summary, Optional<ProtocolException.Reason> failure,
        Optional<MigrationDecision> decision, Optional<SignedAttestation> attestation, boolean inDoubt,
        Map<String, Long> downtimeSteps) {

    /**
     * From the pause until the last dirty pages and the vCPU state are on the stream; in secure mode the source
     * hypervisor seals the MANIFEST (and freezes the protected state) meanwhile, and the step waits for it too.
     */
    public static final String STEP_LAST_ROUND = "lastRound";
    /** The sealed MANIFEST goes on the stream (written and flushed to the channel). */
    public static final String STEP_MANIFEST = "manifest";
    /** Until READY arrives: the destination receives the rest, opens and checks everything against the MANIFEST. */
    public static final String STEP_DESTINATION_CHECK = "destinationCheck";
    /** The source hypervisor records RELEASE (durably: it can never resume the VM again) and it goes out. */
    public static final String STEP_RELEASE = "release";
    /**
     * Until the destination's word that the VM runs there arrives: it verifies RELEASE, records RESUMING, resumes
     * and answers DONE (secure), or resumes on END and ends its stream (plain).
     */
    public static final String STEP_RESUME = "resume";

    public MigrationResult {
        downtimeSteps = downtimeSteps == null ? Map.of()
                : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(downtimeSteps));
    }

    public MigrationResult(MigrationSummary summary, Optional<ProtocolException.Reason> failure,
            Optional<MigrationDecision> decision, Optional<SignedAttestation> attestation, boolean inDoubt) {
        this(summary, failure, decision, attestation, inDoubt, Map.of());
    }

    public boolean committed() {
        return summary.outcome().movedToDestination() && !inDoubt;
    }
}
